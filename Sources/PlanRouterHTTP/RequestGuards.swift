import Hummingbird

/// The media type a request declares, as far as the surfaces care.
public enum RequestMediaType: Sendable, Hashable {
    case json
    case form
    case other
    case missing

    public init(_ request: Request) {
        guard let raw = request.headers[.contentType] else {
            self = .missing
            return
        }
        let essence = raw.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch essence {
        case "application/json": self = .json
        case "application/x-www-form-urlencoded": self = .form
        default: self = .other
        }
    }
}

/// Answers 413 to a request whose declared body is larger than the surface accepts, before a
/// handler reads a byte of it (a handler still reads at most the limit when none is declared).
public struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let maximumBodyBytes: Int

    public init(maximumBodyBytes: Int) { self.maximumBodyBytes = maximumBodyBytes }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maximumBodyBytes {
            return HTTPResponses.json(.contentTooLarge, .object(["error": "too_large", "message": "the request body is too large"]))
        }
        return try await next(request, context)
    }
}
