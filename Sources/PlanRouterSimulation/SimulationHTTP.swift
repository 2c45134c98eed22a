import AsyncHTTPClient
import NIOCore

/// The HTTP calls of the simulated patients, coordinators and practices (booking links, the
/// staff API, the emulators), through AsyncHTTPClient's shared client. Foundation's URLSession
/// would link FoundationNetworking into the one `planrouter` binary, and with it libcurl and the
/// libraries only it needs: ~1 MB resident in every worker process, which never makes these
/// calls (docs/benchmarks.md, "no libcurl in the binary").
enum SimulationHTTP {
    struct Response: Sendable {
        var status: Int
        var body: [UInt8]
    }

    /// Sends one request and collects its answer, whatever the status; throws only when no
    /// answer came (refused, reset, timed out).
    static func send(
        _ method: String, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        timeout: Duration = .seconds(60)
    ) async throws -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(timeout.components.seconds))
        var buffer = try await response.body.collect(upTo: 64 << 20)
        return Response(status: Int(response.status.code), body: buffer.readBytes(length: buffer.readableBytes) ?? [])
    }
}
