import Foundation
import Logging
import Synchronization

/// Records log messages so tests can check what a component logs.
struct CapturingLogHandler: LogHandler {
    final class Store: Sendable {
        private let entries = Mutex<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>([])

        func append(_ level: Logger.Level, _ message: String, _ metadata: Logger.Metadata) {
            entries.withLock { $0.append((level, message, metadata)) }
        }

        var all: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] {
            entries.withLock { $0 }
        }
    }

    let store: Store
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        store.append(event.level, event.message.description, metadata.merging(event.metadata ?? [:]) { $1 })
    }

    static func logger() -> (Logger, Store) {
        let store = Store()
        return (Logger(label: "test") { _ in CapturingLogHandler(store: store) }, store)
    }
}
