import AsyncHTTPClient
import Foundation
import NIOCore
import PlanRouterCore
import Synchronization

/// The NexHealth REST API for one developer account: `POST /authenticates` with the API key
/// (`Authorization: <key>`) gives a bearer token, sent on every other request with
/// `Nex-Api-Version`; every request names its institution with `subdomain`. Answers are
/// `{"code": true, "data": …}`. Failures are classed like Open Dental's (`OpenDentalError`).
public final class NexHealthClient: Sendable {
    public let baseURL: String
    let apiKey: String
    let timeout: Duration
    let token: Mutex<String?>
    public static let apiVersion = "v20240412"

    public init(baseURL: String, apiKey: String, timeout: Duration = .seconds(30)) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.timeout = timeout
        token = Mutex(nil)
    }

    /// `data` of a GET.
    public func get(_ path: String, _ query: [(String, String)]) async throws(OpenDentalError) -> JSONValue {
        try await authorized("GET", path, query, body: nil)
    }

    /// `data` of a POST.
    public func post(_ path: String, _ query: [(String, String)], _ body: JSONValue) async throws(OpenDentalError) -> JSONValue {
        try await authorized("POST", path, query, body: body)
    }

    /// `data` of a PATCH.
    public func patch(_ path: String, _ query: [(String, String)], _ body: JSONValue) async throws(OpenDentalError) -> JSONValue {
        try await authorized("PATCH", path, query, body: body)
    }

    /// Every row of a list: pages (`page`, `per_page`) until a short one.
    public func list(_ path: String, _ query: [(String, String)], perPage: Int = 300) async throws(OpenDentalError) -> [JSONValue] {
        var all: [JSONValue] = []
        var page = 1
        while true {
            let rows = try await get(path, query + [("page", String(page)), ("per_page", String(perPage))])
            guard let list = rows.arrayValue else { throw error(.malformed, 200, "\(path): data is not a list") }
            all += list
            if list.count < perPage { return all }
            page += 1
        }
    }

    func authorized(
        _ method: String, _ path: String, _ query: [(String, String)], body: JSONValue?
    ) async throws(OpenDentalError)
        -> JSONValue
    {
        let bearer: String
        if let t = token.withLock({ $0 }) { bearer = t } else { bearer = try await authenticate() }
        do {
            return try await send(method, path, query, body: body, authorization: "Bearer \(bearer)")
        } catch let e where e.kind == .unauthorized {
            // Tokens expire (an hour): one fresh token, then the answer stands.
            return try await send(method, path, query, body: body, authorization: "Bearer \(try await authenticate())")
        }
    }

    func authenticate() async throws(OpenDentalError) -> String {
        let data = try await send("POST", "/authenticates", [], body: nil, authorization: apiKey)
        guard let t = data["token"]?.stringValue else { throw error(.malformed, 200, "/authenticates: no token") }
        token.withLock { $0 = t }
        return t
    }

    func error(_ kind: OpenDentalError.Kind, _ status: Int?, _ message: String) -> OpenDentalError {
        OpenDentalError(kind: kind, status: status, message: message, pms: "nexhealth")
    }

    func send(
        _ method: String, _ path: String, _ query: [(String, String)], body: JSONValue?, authorization: String
    ) async throws(OpenDentalError) -> JSONValue {
        guard var components = URLComponents(string: baseURL + path) else { throw error(.refused, nil, "bad URL \(path)") }
        if !query.isEmpty { components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
        guard let url = components.url else { throw error(.refused, nil, "bad URL \(path)") }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .init(rawValue: method)
        request.headers.add(name: "Authorization", value: authorization)
        request.headers.add(name: "Nex-Api-Version", value: Self.apiVersion)
        request.headers.add(name: "Accept", value: "application/vnd.Nexhealth+json;version=2")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body.serializedBytes()))
        }
        let answer: PMSHTTP.Answer
        do { answer = try await PMSHTTP.send(request, timeout: timeout) } catch {
            throw self.error(.transient, nil, "\(method) \(path): \(error)")
        }
        let (statusCode, retryAfter, data) = (answer.status, answer.retryAfter, answer.body)
        // NexHealth's error bodies carry `error` strings about fields, not patients.
        let parsed = try? JSONParser.parse(data)
        let explanation = parsed?["error"].map { e in e.arrayValue?.compactMap(\.stringValue).joined(separator: "; ") ?? e.stringValue ?? ""
        }
        let text = explanation ?? String(decoding: data.prefix(300), as: UTF8.self)
        switch statusCode {
        case 200..<300:
            guard let parsed else { throw error(.malformed, statusCode, "\(method) \(path): body is not JSON") }
            return parsed["data"] ?? .null
        case 401, 403: throw error(.unauthorized, statusCode, "\(method) \(path): \(text)")
        case 429:
            let after = retryAfter.flatMap(Int.init).map { Duration.seconds($0) }
            throw error(.rateLimited(retryAfter: after), 429, "\(method) \(path): rate limited")
        case 408, 500...: throw error(.transient, statusCode, "\(method) \(path): \(text)")
        default: throw error(.refused, statusCode, "\(method) \(path): \(text)")
        }
    }
}
