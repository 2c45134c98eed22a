import AsyncHTTPClient
import Foundation
import NIOCore
import PlanRouterCore

/// What went wrong talking to one office, by what the connector does about it.
public struct OpenDentalError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// 401/403: the key is wrong, disabled or lacks a permission. The office is unhealthy until it answers again.
        case unauthorized
        /// 429: wait `Retry-After` when given.
        case rateLimited(retryAfter: Duration?)
        /// 5xx, a timeout or a lost connection: back off and retry from the watermark.
        case transient
        /// Another 4xx: the office refused this request (e.g. the slot is taken, the patient archived).
        case refused
        /// 2xx with a body that is not the documented shape.
        case malformed
    }

    public var kind: Kind
    public var status: Int?
    /// The office's explanation (Open Dental's error bodies) or the transport error; no patient data is sent, so none comes back.
    public var message: String
    /// Which PMS answered (NexHealth's client reports its failures the same way).
    public var pms = "opendental"

    public var description: String { "\(pms) \(status.map(String.init) ?? "transport"): \(message)" }
}

/// The Open Dental REST API for one office: `Authorization: ODFHIR {DeveloperKey}/{CustomerKey}`
/// on every request, lists paged by `Offset` in chunks of 100
/// (https://opendental.com/site/apiimplementation.html).
public struct OpenDentalClient: Sendable {
    public var baseURL: String
    let authorization: String
    public var timeout: Duration
    /// Rows per page: 100 for the remote API, 1,000 for the local API service.
    public var pageSize: Int

    public init(baseURL: String, developerKey: String, customerKey: String, timeout: Duration = .seconds(30), pageSize: Int = 100) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.authorization = "ODFHIR \(developerKey)/\(customerKey)"
        self.timeout = timeout
        self.pageSize = pageSize
    }

    /// Every row of a list endpoint: pages of `pageSize` by `Offset` until a short page.
    public func list(_ path: String, _ query: [(String, String)] = []) async throws(OpenDentalError) -> [JSONValue] {
        var all: [JSONValue] = []
        while true {
            let page = try await get(path, query + (all.isEmpty ? [] : [("Offset", String(all.count))]))
            guard let rows = page.arrayValue else {
                throw OpenDentalError(kind: .malformed, status: 200, message: "\(path): not a JSON array")
            }
            all += rows
            if rows.count < pageSize { return all }
        }
    }

    public func get(_ path: String, _ query: [(String, String)] = []) async throws(OpenDentalError) -> JSONValue {
        try await send("GET", path, query, body: nil)
    }

    public func post(_ path: String, _ body: JSONValue) async throws(OpenDentalError) -> JSONValue {
        try await send("POST", path, [], body: body)
    }

    public func put(_ path: String, _ body: JSONValue) async throws(OpenDentalError) -> JSONValue {
        try await send("PUT", path, [], body: body)
    }

    public func delete(_ path: String) async throws(OpenDentalError) {
        _ = try await send("DELETE", path, [], body: nil)
    }

    func send(_ method: String, _ path: String, _ query: [(String, String)], body: JSONValue?) async throws(OpenDentalError) -> JSONValue {
        guard var components = URLComponents(string: baseURL + path) else {
            throw OpenDentalError(kind: .refused, status: nil, message: "bad URL \(baseURL + path)")
        }
        if !query.isEmpty { components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
        guard let url = components.url else { throw OpenDentalError(kind: .refused, status: nil, message: "bad URL \(path)") }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method == "POST" ? .POST : method == "PUT" ? .PUT : method == "DELETE" ? .DELETE : .GET
        request.headers.add(name: "Authorization", value: authorization)
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body.serializedBytes()))
        }
        let answer: PMSHTTP.Answer
        do { answer = try await PMSHTTP.send(request, timeout: timeout) } catch {
            throw OpenDentalError(kind: .transient, status: nil, message: "\(method) \(path): \(error)")
        }
        let (statusCode, retryAfter, data) = (answer.status, answer.retryAfter, answer.body)
        let text = String(decoding: data.prefix(500), as: UTF8.self)
        switch statusCode {
        case 200..<300:
            guard !data.isEmpty else { return .null }
            do { return try JSONParser.parse(data) } catch {
                throw OpenDentalError(kind: .malformed, status: statusCode, message: "\(method) \(path): body is not JSON")
            }
        case 401, 403:
            throw OpenDentalError(kind: .unauthorized, status: statusCode, message: "\(method) \(path): \(text)")
        case 429:
            let after = retryAfter.flatMap(Int.init).map { Duration.seconds($0) }
            throw OpenDentalError(kind: .rateLimited(retryAfter: after), status: 429, message: "\(method) \(path): rate limited")
        case 408, 500...:
            throw OpenDentalError(kind: .transient, status: statusCode, message: "\(method) \(path): \(text)")
        default:
            throw OpenDentalError(kind: .refused, status: statusCode, message: "\(method) \(path): \(text)")
        }
    }
}
