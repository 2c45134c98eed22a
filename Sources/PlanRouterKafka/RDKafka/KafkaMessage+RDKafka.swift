import CRdKafka
import Foundation

extension KafkaMessage {
    /// Copies a consumed `rd_kafka_message_t` (which must have no error) into Swift values.
    init(_ message: UnsafeMutablePointer<rd_kafka_message_t>) {
        let raw = message.pointee
        let topic = raw.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let value: [UInt8] =
            raw.payload.map {
                Array(UnsafeRawBufferPointer(start: $0, count: raw.len))
            } ?? []
        let key: [UInt8]? = raw.key.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.key_len)) }

        var headers: [KafkaHeader] = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?
            var pointer: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &pointer, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let headerValue = pointer.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
                headers.append(KafkaHeader(key: name.map { String(cString: $0) } ?? "", value: headerValue))
                index += 1
            }
        }

        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let milliseconds = rd_kafka_message_timestamp(message, &timestampType)
        let timestamp = milliseconds >= 0 ? Date(timeIntervalSince1970: Double(milliseconds) / 1000) : nil

        self.init(
            topic: topic, partition: raw.partition, offset: raw.offset,
            key: key, value: value, headers: headers, timestamp: timestamp)
    }
}
