import CLibPQ
import Logging

/// Receives server NOTICE/WARNING messages, which libpq would otherwise print to stderr.
final class NoticeLogger {
    let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// Installs the receiver and returns the +1 reference libpq holds as its `arg`; the
    /// caller releases it after `PQfinish`, when libpq can no longer call back.
    static func install(on connection: OpaquePointer, logger: Logger) -> Unmanaged<NoticeLogger> {
        let box = Unmanaged.passRetained(NoticeLogger(logger: logger))
        PQsetNoticeReceiver(
            connection,
            { argument, result in
                guard let argument, let result else { return }
                let receiver = Unmanaged<NoticeLogger>.fromOpaque(argument).takeUnretainedValue()
                receiver.log(result)
            }, box.toOpaque())
        return box
    }

    private func log(_ result: OpaquePointer) {
        func field(_ code: UInt8) -> String {
            PQresultErrorField(result, Int32(code)).map { String(cString: $0) } ?? ""
        }
        logger.debug(
            "postgres server notice",
            metadata: [
                "postgres.notice.severity": "\(field(UInt8(ascii: "V")))",
                "postgres.notice.sqlstate": "\(field(UInt8(ascii: "C")))",
                "postgres.notice.message": "\(field(UInt8(ascii: "M")))",
            ]
        )
    }
}
