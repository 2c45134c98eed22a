extension Duration {
    /// Milliseconds for librdkafka's `int timeout_ms` arguments, clamped to Int32.
    var rdKafkaMilliseconds: Int32 {
        let (seconds, attoseconds) = components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return Int32(clamping: max(0, milliseconds))
    }
}
