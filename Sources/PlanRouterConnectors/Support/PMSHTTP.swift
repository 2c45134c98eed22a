import AsyncHTTPClient
import NIOCore

/// The HTTP client the PMS connectors share.
enum PMSHTTP {
    /// One HTTP client (AsyncHTTPClient, its own connection pool, as the Twilio adapter) for every
    /// office of the process. Every office talks to the same host (Open Dental's API, or
    /// NexHealth's), and URLSession.shared's 6 connections per host capped a 100-office connector
    /// at ~200 requests/s (docs/benchmarks.md); with 32 here the same bench made ~1,000 requests/s.
    /// (URLSession is not used at all: FoundationNetworking would load libcurl and the libraries
    /// only it needs into every process of the one `planrouter` binary, ~1 MB resident each.)
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 32)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// What a PMS answered: the status, its `Retry-After` (for a 429) and the body.
    struct Answer: Sendable {
        var status: Int
        var retryAfter: String?
        var body: [UInt8]
    }

    /// Sends one request and collects the answer (up to 64 MiB), whatever its status; throws
    /// only when none came (refused, reset, timed out), which the clients treat as transient.
    static func send(_ request: HTTPClientRequest, timeout: Duration) async throws -> Answer {
        let response = try await client.execute(request, timeout: .seconds(timeout.components.seconds))
        var buffer = try await response.body.collect(upTo: 64 << 20)
        return Answer(
            status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"),
            body: buffer.readBytes(length: buffer.readableBytes) ?? [])
    }
}
