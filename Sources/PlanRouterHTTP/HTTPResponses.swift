import Hummingbird
import PlanRouterCore

/// The responses both surfaces send: never cached, never sniffed; `private` ones also never
/// framed, never sent on as a Referer, and allowed to load nothing.
public enum HTTPResponses {
    public static func headers(_ contentType: String, private: Bool) -> HTTPFields {
        var h = HTTPFields()
        h[.contentType] = contentType
        h[.cacheControl] = "no-store"
        h[.xContentTypeOptions] = "nosniff"
        if `private` {
            // The token is in the URL: never send it on as a Referer, never let the page be framed or load anything.
            h[.init("Referrer-Policy")!] = "no-referrer"
            h[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
        }
        return h
    }

    public static func html(_ status: HTTPResponse.Status, _ page: String) -> Response {
        Response(
            status: status, headers: headers("text/html; charset=utf-8", private: true), body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    public static func json(_ status: HTTPResponse.Status, _ value: JSONValue, private: Bool = false) -> Response {
        Response(
            status: status, headers: headers("application/json", private: `private`),
            body: .init(byteBuffer: ByteBuffer(string: value.serialized() + "\n")))
    }

    public static func text(_ status: HTTPResponse.Status, _ s: String, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(status: status, headers: headers(contentType, private: false), body: .init(byteBuffer: ByteBuffer(string: s)))
    }

    /// `{"error": code, "message": message}` with `status`.
    public static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> Response {
        json(status, .object(["error": .string(code), "message": .string(message)]))
    }
}
