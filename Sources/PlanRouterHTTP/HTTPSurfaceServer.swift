import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Builds a Hummingbird application for one surface (public or staff) with `HTTPLimits`
/// applied at the connection level, where Hummingbird offers them.
public enum HTTPSurfaceServer {
    public static func application<Responder: HTTPResponder>(
        responder: Responder, host: String, port: Int, limits: HTTPLimits, logger: Logger
    ) -> Application<Responder> where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
        var decoder = HTTP1Channel.Configuration.DecoderConfiguration()
        decoder.maxHeaderListSize = limits.maximumHeaderBytes
        decoder.maxHeaderFieldSize = limits.maximumHeaderBytes
        decoder.maxHeaderFieldCount = 100
        let idle = limits.idleTimeout.components
        let channel = HTTP1Channel.Configuration(
            idleTimeout: .nanoseconds(idle.seconds * 1_000_000_000 + idle.attoseconds / 1_000_000_000), httpDecoderConfiguration: decoder)
        return Application(
            responder: responder,
            server: .http1(configuration: channel),
            configuration: ApplicationConfiguration(
                address: .hostname(host, port: port), serverName: nil, backlog: limits.backlog,
                availableConnectionsDelegate: ConnectionCap(maximum: limits.maximumConnections)),
            logger: logger)
    }
}
