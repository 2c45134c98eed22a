import CRdKafka
import Logging

/// What librdkafka's C callbacks need to get back to Swift: the logger and, for
/// consumers, the rebalance handler. Passed as the handle's opaque *unretained*:
/// `RDKafkaHandle` keeps it alive until after `rd_kafka_destroy` returns, which is
/// the last moment librdkafka can call back.
final class RDKafkaContext: Sendable {
    typealias RebalanceHandler =
        @Sendable (
            _ rk: OpaquePointer, _ event: rd_kafka_resp_err_t, _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        ) -> Void

    let logger: Logger
    let onRebalance: RebalanceHandler?

    init(logger: Logger, onRebalance: RebalanceHandler? = nil) {
        self.logger = logger
        self.onRebalance = onRebalance
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> RDKafkaContext? {
        guard let opaque else { return nil }
        return Unmanaged<RDKafkaContext>.fromOpaque(opaque).takeUnretainedValue()
    }

    /// librdkafka logs with syslog levels (0 emerg … 7 debug).
    func log(level: Int32, facility: String, message: String) {
        let swiftLevel: Logger.Level
        switch level {
        case ...2: swiftLevel = .critical
        // A failed broker connection ("FAIL") is logged by librdkafka as an error but is
        // transient: it reconnects on its own, and callers that must give up do so with
        // their own error (e.g. checkReachable). A warning is the honest level.
        case 3: swiftLevel = facility == "FAIL" ? .warning : .error
        // One property list serves producers and consumers; a consumer-only property
        // ignored by a producer (or the reverse) is expected, not a warning.
        case 4 where facility == "CONFWARN" && message.contains("will be ignored by this"): swiftLevel = .debug
        case 4: swiftLevel = .warning
        case 5: swiftLevel = .notice
        case 6: swiftLevel = .info
        default: swiftLevel = .debug
        }
        logger.log(level: swiftLevel, "librdkafka: \(message)", metadata: ["kafka.facility": "\(facility)"])
    }

    /// librdkafka's `log_level` matching the logger, so debug lines are dropped at the
    /// source instead of formatted and thrown away.
    static func rdKafkaLogLevel(for logger: Logger) -> String {
        switch logger.logLevel {
        case .trace, .debug: return "7"
        case .info: return "6"
        case .notice: return "5"
        case .warning: return "4"
        case .error: return "3"
        case .critical: return "2"
        }
    }
}
