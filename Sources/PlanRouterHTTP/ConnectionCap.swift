import HummingbirdCore
import PlanRouterCore

/// At most `maximum` connections at once (beyond it the server stops accepting and newcomers
/// wait in the kernel's backlog), and memory handed back to the system once a crowd has left.
///
/// glibc keeps the heap a crowd of connections grew and reuses it, but it does not return it on
/// its own: measured with 1,000 slow clients, the server stayed ~8 MB above its idle size after
/// every one had gone. When the count falls to an eighth of the cap after reaching a quarter of
/// it, or to zero after reaching 16, `malloc_trim(0)` returns the free pages. It runs on the
/// listening channel's event loop, once per crowd, never per request.
public struct ConnectionCap: AvailableConnectionsDelegate {
    let maximum: Int
    var open = 0
    var peakSinceTrim = 0

    public init(maximum: Int) { self.maximum = max(1, maximum) }

    public mutating func connectionOpened() {
        open += 1
        peakSinceTrim = max(peakSinceTrim, open)
    }

    public mutating func connectionClosed() {
        open -= 1
        // The crowd is mostly gone, or a smaller one entirely.
        let crowdLeft = peakSinceTrim >= max(4, maximum / 4) && open <= maximum / 8
        if crowdLeft || (open == 0 && peakSinceTrim >= 16) {
            peakSinceTrim = open
            HeapTrim.returnFreePages()
        }
    }

    public func isAcceptingNewConnections() -> Bool { open < maximum }
}
