#ifndef PLANROUTER_CRDKAFKA_SHIM_H
#define PLANROUTER_CRDKAFKA_SHIM_H
// rdkafka_mock.h uses types declared in rdkafka.h, so it must come second.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif
