#ifndef PLANROUTER_CRDKAFKA_SHIM_H
#define PLANROUTER_CRDKAFKA_SHIM_H
// rdkafka_mock.h uses types declared in rdkafka.h, so it must come second.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

// Swift cannot call C variadic functions: one (error, RTT) tuple per call. The
// broker's error stack is a queue, so calling this in order pushes a list.
static inline rd_kafka_resp_err_t planrouter_mock_broker_push_request_error_rtt(
    rd_kafka_mock_cluster_t *mcluster, int32_t broker_id, int16_t api_key, rd_kafka_resp_err_t err, int rtt_ms) {
    return rd_kafka_mock_broker_push_request_error_rtts(mcluster, broker_id, api_key, 1, err, rtt_ms);
}
#endif
