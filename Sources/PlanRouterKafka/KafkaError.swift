/// An error from the Kafka client.
///
/// `description` never carries message payloads or property values (SASL passwords
/// travel through `properties`); it names the operation, the property or topic, and
/// librdkafka's error name.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, coarsely. A struct over a private enum so codes can be added
    /// without breaking exhaustive switches in callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: String, Hashable, Sendable {
            case configuration, transport, fatal, timedOut, messageDelivery, consumer, closed, topic
        }

        private let backing: Backing

        private init(_ backing: Backing) { self.backing = backing }

        /// A property was unknown or had an invalid value, or the client could not be created.
        public static let configuration = Code(.configuration)
        /// The brokers could not be reached.
        public static let transport = Code(.transport)
        /// The client raised a fatal error (e.g. an idempotence invariant broke); it must be recreated.
        public static let fatal = Code(.fatal)
        /// An operation did not finish in time (flush, commit).
        public static let timedOut = Code(.timedOut)
        /// A produced message was not delivered.
        public static let messageDelivery = Code(.messageDelivery)
        /// A consumer operation (subscribe, commit, pause) failed.
        public static let consumer = Code(.consumer)
        /// The client was already closed.
        public static let closed = Code(.closed)
        /// A topic or partition was unknown or unusable.
        public static let topic = Code(.topic)

        public var description: String { backing.rawValue }
    }

    /// What a caller should do about an error that reached it after librdkafka's own
    /// retries. A struct over a private enum so classes can be added later.
    public struct Category: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: String, Hashable, Sendable {
            case retriable
            case needsOperator = "needs_operator"
            case permanent, fatal
        }

        private let backing: Backing

        private init(_ backing: Backing) { self.backing = backing }

        /// Clears up by itself (a broker down, a leader moving, a timeout): try again soon.
        public static let retriable = Category(.retriable)
        /// The cluster refuses the client, not the message (authorization, an unknown
        /// topic, a policy or protocol setting): nothing about the message is wrong and
        /// an operator's fix makes the same send succeed. Keep it; try again rarely.
        public static let needsOperator = Category(.needsOperator)
        /// The broker refuses this message for good (too large, an invalid record or
        /// timestamp): sending the same bytes again can never succeed.
        public static let permanent = Category(.permanent)
        /// The client is unusable (an idempotence invariant broke): recreate it.
        public static let fatal = Category(.fatal)

        public var description: String { backing.rawValue }
    }

    public var code: Code
    /// The raw `rd_kafka_resp_err_t` value when librdkafka reported one.
    public var rdKafkaError: Int32?
    /// Whether trying the same operation again may succeed.
    public var isRetriable: Bool
    /// Whether the client is unusable and must be recreated.
    public var isFatal: Bool
    /// What happened; never message payloads or property values.
    public var message: String

    public init(
        code: Code,
        message: String,
        rdKafkaError: Int32? = nil,
        isRetriable: Bool = false,
        isFatal: Bool = false
    ) {
        self.code = code
        self.message = message
        self.rdKafkaError = rdKafkaError
        self.isRetriable = isRetriable
        self.isFatal = isFatal
    }

    /// The error's class: `rdKafkaError` decides where librdkafka reported a code (see
    /// `KafkaError+RDKafka.swift` for the table); otherwise the fatal and retriable
    /// flags; anything not known is `needsOperator`, so an unexpected error never
    /// makes a caller throw a message away.
    public var category: Category {
        if isFatal { return .fatal }
        if let raw = rdKafkaError, let known = Self.category(rdKafka: raw) { return known }
        if isRetriable || code == .closed || code == .transport || code == .timedOut { return .retriable }
        return .needsOperator
    }

    public var description: String {
        var text = "KafkaError(\(code)): \(message)"
        if isFatal { text += " [fatal]" }
        if isRetriable { text += " [retriable]" }
        return text
    }
}
