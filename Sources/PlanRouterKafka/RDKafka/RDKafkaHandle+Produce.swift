import CRdKafka

extension RDKafkaHandle {
    /// The producer's delivery-report callback: resolves the message's `DeliveryOpaque`.
    static func installDeliveryReportCallback(_ conf: OpaquePointer) {
        rd_kafka_conf_set_dr_msg_cb(conf) { rk, message, _ in
            guard let message, let opaque = message.pointee._private else { return }
            // Takes back the +1 from `produce`.
            let box = Unmanaged<DeliveryOpaque>.fromOpaque(opaque).takeRetainedValue()
            let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
            let error = message.pointee.err
            if error == RD_KAFKA_RESP_ERR_NO_ERROR {
                box.complete(
                    .success(
                        KafkaDeliveryReport(
                            topic: topic, partition: message.pointee.partition, offset: message.pointee.offset)))
            } else if error == RD_KAFKA_RESP_ERR__FATAL, let rk, let fatal = KafkaError.fatal(of: rk) {
                box.complete(.failure(fatal))
            } else {
                box.complete(
                    .failure(
                        KafkaError(
                            code: .messageDelivery, context: "delivery to topic '\(topic)' failed", rdKafka: error)))
            }
        }
    }

    /// Enqueues one message (payloads copied). On success librdkafka owns a +1 on `box`
    /// until the delivery report; on failure nothing is retained and the error is returned.
    /// Non-blocking, but `__QUEUE_FULL` is returned as an error for the caller to retry.
    func produce(_ message: KafkaOutgoingMessage, box: DeliveryOpaque) -> KafkaError? {
        let headers: OpaquePointer? = message.headers.isEmpty ? nil : makeHeaders(message.headers)
        let opaque = Unmanaged.passRetained(box)
        let error: OpaquePointer? = message.topic.withCString { topic in
            message.value.withUnsafeBytes { value in
                withOptionalBytes(message.key) { key in
                    var args = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 8)
                    var count = 0
                    func add(_ type: rd_kafka_vtype_t, _ fill: (inout rd_kafka_vu_t) -> Void) {
                        args[count].vtype = type
                        fill(&args[count])
                        count += 1
                    }
                    add(RD_KAFKA_VTYPE_TOPIC) { $0.u.cstr = topic }
                    if let partition = message.partition {
                        add(RD_KAFKA_VTYPE_PARTITION) { $0.u.i32 = partition }
                    }
                    add(RD_KAFKA_VTYPE_VALUE) {
                        $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                        $0.u.mem.size = value.count
                    }
                    if let key {
                        add(RD_KAFKA_VTYPE_KEY) {
                            $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
                            $0.u.mem.size = key.count
                        }
                    }
                    if let headers {
                        add(RD_KAFKA_VTYPE_HEADERS) { $0.u.headers = headers }
                    }
                    add(RD_KAFKA_VTYPE_MSGFLAGS) { $0.u.i = RD_KAFKA_MSG_F_COPY }
                    add(RD_KAFKA_VTYPE_OPAQUE) { $0.u.ptr = opaque.toOpaque() }
                    return rd_kafka_produceva(pointer, args, count)
                }
            }
        }
        guard let error else { return nil }
        // Not enqueued: no delivery report will come, so the +1 and the headers are ours to free.
        opaque.release()
        if let headers { rd_kafka_headers_destroy(headers) }
        return KafkaError(code: .messageDelivery, context: "produce to topic '\(message.topic)' failed", consuming: error)
    }

    private func makeHeaders(_ headers: [KafkaHeader]) -> OpaquePointer {
        let list = rd_kafka_headers_new(headers.count)!
        for header in headers {
            if let value = header.value {
                value.withUnsafeBytes { bytes in
                    // A non-nil pointer even for an empty value, so it stays distinct from a null value.
                    let base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)
                    _ = rd_kafka_header_add(list, header.key, -1, base, bytes.count)
                }
            } else {
                _ = rd_kafka_header_add(list, header.key, -1, nil, 0)
            }
        }
        return list
    }

    /// Producer-side retry of `__QUEUE_FULL`: serve delivery reports briefly so the
    /// local queue drains, then try again. Runs on the producer's own queue.
    func produceWaitingForSpace(_ message: KafkaOutgoingMessage, box: DeliveryOpaque) -> KafkaError? {
        while true {
            guard let error = produce(message, box: box) else { return nil }
            guard error.rdKafkaError == RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue else { return error }
            rd_kafka_poll(pointer, 10)
        }
    }
}

private func withOptionalBytes<Result>(
    _ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> Result
) -> Result {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}
