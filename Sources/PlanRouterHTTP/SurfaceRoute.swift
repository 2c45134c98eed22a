import Hummingbird

/// One route of a surface: method, OpenAPI-style path (`/book/{token}`) and the endpoint that
/// answers it. Each surface lists its routes once; its router registers exactly those and a
/// test checks its OpenAPI document against the list.
public struct SurfaceRoute<Endpoint: Sendable & Hashable>: Sendable, Hashable {
    public var method: HTTPRequest.Method
    public var path: String
    public var endpoint: Endpoint

    public init(method: HTTPRequest.Method, path: String, endpoint: Endpoint) {
        self.method = method
        self.path = path
        self.endpoint = endpoint
    }

    /// The path as Hummingbird spells it (`:name` for a parameter).
    public var routerPath: RouterPath {
        RouterPath(
            path.split(separator: "/", omittingEmptySubsequences: false).map { part in
                part.hasPrefix("{") && part.hasSuffix("}") ? ":" + part.dropFirst().dropLast() : part
            }.joined(separator: "/"))
    }
}
