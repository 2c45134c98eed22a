import CRdKafka
import Foundation
import Logging

/// Owns one `rd_kafka_t` and the context its callbacks use. librdkafka's API is
/// thread-safe, so the pointer may be used from any thread; the owners make sure
/// `destroy()` runs once, off the cooperative pool, after every other use.
final class RDKafkaHandle: @unchecked Sendable {
    // @unchecked: an rd_kafka_t may be used from any thread; the owners run destroy() once, last.
    let pointer: OpaquePointer
    private let context: RDKafkaContext

    /// - Parameters:
    ///   - defaults: our defaults; `properties` override them verbatim.
    ///   - configure: extra C-level setup (callbacks) on the conf before `rd_kafka_new`.
    init(
        type: rd_kafka_type_t,
        defaults: [String: String],
        properties: [String: String],
        context: RDKafkaContext,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws {
        let conf = rd_kafka_conf_new()!
        var ownsConf = true
        defer { if ownsConf { rd_kafka_conf_destroy(conf) } }

        var merged = defaults
        merged["log_level"] = merged["log_level"] ?? RDKafkaContext.rdKafkaLogLevel(for: context.logger)
        for (key, value) in properties { merged[key] = value }
        // Sorted so a configuration error names the same property on every run.
        for key in merged.keys.sorted() {
            try Self.set(conf, key, merged[key]!)
        }

        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { rk, level, facility, buffer in
            guard let rk, let context = RDKafkaContext.from(rd_kafka_opaque(rk)) else { return }
            context.log(
                level: level,
                facility: facility.map { String(cString: $0) } ?? "",
                message: buffer.map { String(cString: $0) } ?? ""
            )
        }
        rd_kafka_conf_set_error_cb(conf) { rk, error, reason, opaque in
            guard let context = RDKafkaContext.from(opaque) else { return }
            let code = rd_kafka_resp_err_t(rawValue: error)
            let name = String(cString: rd_kafka_err2name(code))
            let reason = reason.map { String(cString: $0) } ?? ""
            if code == RD_KAFKA_RESP_ERR__FATAL, let rk {
                // The handle remembers the fatal cause itself (rd_kafka_fatal_error);
                // senders read it from there, so here we only need to say it loudly.
                let fatal = KafkaError.fatal(of: rk)
                context.logger.error(
                    "Kafka client raised a fatal error",
                    metadata: ["kafka.error": "\(fatal?.description ?? reason)"]
                )
            } else if KafkaError.isRetriable(code) {
                // Broker disconnects and the like: librdkafka retries on its own.
                context.logger.debug("Kafka transient error", metadata: ["kafka.error": "\(name)", "kafka.reason": "\(reason)"])
            } else {
                context.logger.warning("Kafka error", metadata: ["kafka.error": "\(name)", "kafka.reason": "\(reason)"])
            }
        }
        configure(conf)

        var errorText = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            let reason = errorText.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw KafkaError(code: .configuration, message: "could not create the Kafka client: \(reason)")
        }
        ownsConf = false  // rd_kafka_new took it
        self.pointer = rk
        self.context = context
    }

    private static func set(_ conf: OpaquePointer, _ key: String, _ value: String) throws {
        var errorText = [CChar](repeating: 0, count: 512)
        let result = rd_kafka_conf_set(conf, key, value, &errorText, errorText.count)
        switch result {
        case RD_KAFKA_CONF_OK:
            return
        case RD_KAFKA_CONF_UNKNOWN:
            throw KafkaError(code: .configuration, message: "unknown Kafka property '\(key)'")
        default:
            // librdkafka's text may quote the value, which can be a secret: name the property only.
            throw KafkaError(code: .configuration, message: "invalid value for Kafka property '\(key)'")
        }
    }

    /// Blocks until librdkafka's threads have stopped. Call once, off the cooperative pool.
    func destroy() {
        rd_kafka_destroy(pointer)
    }

    var fatalError: KafkaError? { KafkaError.fatal(of: pointer) }
}
