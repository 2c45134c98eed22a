/// The librdkafka properties every worker's group consumer starts from; the
/// operator's `--kafka-property` / `PLANROUTER_KAFKA_PROPERTIES` win over them.
public enum ConsumerDefaults {
    public static let properties: [String: String] = [
        // A short fetch wait keeps per-hop latency low when a partition is idle.
        "fetch.wait.max.ms": "20",
        // A bounded prefetch keeps a worker that falls behind well inside its memory
        // budget (librdkafka's own default prefetch is 64 MB).
        "queued.max.messages.kbytes": "2048",
        // How long a member that died without leaving the group (kill -9, OOM kill, lost
        // node, a process stopped) keeps its partitions: nobody consumes them until its
        // session times out. librdkafka's default is 45 s (KIP-735), which made one
        // fault schedule take 72 s to recover after two offer workers rebalanced; 10 s
        // (Kafka's default before KIP-735, inside every broker's default
        // group.min/max.session.timeout.ms of 6 s / 30 min) bounds it. Heartbeats run on
        // librdkafka's own thread, so a long batch does not stop them; a member evicted by
        // a stall only has its batch redelivered, which the inbox absorbs.
        "session.timeout.ms": "10000",
        // At most a third of the session, so two lost heartbeats do not end a session;
        // also how soon live members hear of a rebalance.
        "heartbeat.interval.ms": "1000",
    ]

    /// Where the consumer group is coordinated.
    public enum Coordinator: Sendable {
        /// A real Kafka broker: the dead member is dropped after its session, and the
        /// rebalance ends once the live members rejoin (each hears of it at its next
        /// heartbeat).
        case kafka
        /// librdkafka's mock cluster (`planrouter dev-broker`): every rebalance also
        /// waits `session.timeout.ms` − 1 s before electing a leader.
        case mockCluster
    }

    /// The longest a consumer group with these properties takes, after a member dies
    /// without leaving, until every partition is consumed again by the live members
    /// (not counting the batch in progress, nor a member stuck without polling, which
    /// a real broker waits for up to `max.poll.interval.ms`). The mock cluster checks
    /// sessions once a second.
    public static func deadMemberFailoverBound(_ properties: [String: String], on coordinator: Coordinator) -> Duration {
        // librdkafka 2.x defaults when not set.
        let session = properties["session.timeout.ms"].flatMap(Int.init) ?? 45_000
        let heartbeat = properties["heartbeat.interval.ms"].flatMap(Int.init) ?? 3000
        switch coordinator {
        case .kafka:
            return .milliseconds(session + heartbeat)
        case .mockCluster:
            return .milliseconds(session + 1000 + (session - 1000) + heartbeat)
        }
    }
}
