/// The limits every HTTP surface runs with, so a crowd of slow or idle clients costs a bounded
/// amount of memory and cannot starve the others.
public struct HTTPLimits: Sendable, Hashable {
    /// A connection that has sent no complete request part (or got its last response) this long
    /// ago is closed: idle keep-alive connections and clients trickling a request head alike.
    /// Default: 15 s.
    public var idleTimeout: Duration = .seconds(15)
    /// Connections served at once; beyond it new ones wait in the listen backlog until one
    /// closes. Default: 512.
    public var maximumConnections: Int = 512
    /// Largest request body a handler reads; a declared `Content-Length` above it is answered
    /// 413 before anything is read. Default: 16 KiB.
    public var maximumBodyBytes: Int = 16 * 1024
    /// Largest request head (all header lines together). Default: 16 KiB.
    public var maximumHeaderBytes: Int = 16 * 1024
    /// Pending connections the kernel queues beyond `maximumConnections`. Default: 256.
    public var backlog: Int = 256

    public init() {}

    public init(idleTimeout: Duration, maximumConnections: Int, maximumBodyBytes: Int) {
        self.idleTimeout = idleTimeout
        self.maximumConnections = maximumConnections
        self.maximumBodyBytes = maximumBodyBytes
    }
}
