import Testing

@testable import PlanRouterKafka

@Suite("Kafka offset tracker")
struct KafkaOffsetTrackerTests {
    let p0 = KafkaTopicPartition(topic: "t", partition: 0)
    let p1 = KafkaTopicPartition(topic: "t", partition: 1)

    @Test("out-of-order markDone never commits past the lowest pending offset")
    func outOfOrder() {
        var tracker = KafkaOffsetTracker()
        tracker.assign([p0])
        for offset in Int64(10)..<15 { tracker.track(p0, offset: offset) }
        #expect(tracker.positionsToCommit().isEmpty)  // nothing done yet

        tracker.markDone(p0, offset: 13)
        tracker.markDone(p0, offset: 14)
        tracker.markDone(p0, offset: 11)
        #expect(tracker.positionsToCommit() == [p0: 10])

        tracker.markDone(p0, offset: 10)
        #expect(tracker.positionsToCommit() == [p0: 12])

        tracker.markDone(p0, offset: 12)
        #expect(tracker.positionsToCommit() == [p0: 15])
    }

    @Test("a commit with nothing new is a no-op")
    func nothingNew() {
        var tracker = KafkaOffsetTracker()
        tracker.assign([p0, p1])
        tracker.track(p0, offset: 0)
        tracker.track(p1, offset: 7)
        tracker.markDone(p0, offset: 0)
        #expect(tracker.positionsToCommit() == [p0: 1])
        tracker.didCommit([p0: 1])
        #expect(tracker.positionsToCommit().isEmpty)
        tracker.track(p0, offset: 1)
        #expect(tracker.positionsToCommit().isEmpty)  // pending 1 is where we already are
    }

    @Test("markDone is ignored for revoked partitions and never-polled offsets")
    func ignored() {
        var tracker = KafkaOffsetTracker()
        tracker.assign([p0, p1])
        tracker.track(p0, offset: 5)
        tracker.track(p1, offset: 5)
        let unknownOffset = tracker.markDone(p0, offset: 99)
        #expect(!unknownOffset)
        #expect(tracker.positionsToCommit().isEmpty)

        tracker.markDone(p1, offset: 5)
        let revoked = tracker.revoke([p1])
        #expect(revoked == [p1: 6])
        #expect(tracker.assignment == [p0])
        let lateDone = tracker.markDone(p1, offset: 5)
        let lateTrack = tracker.track(p1, offset: 6)
        #expect(!lateDone)
        #expect(!lateTrack)

        // Reassigned: fresh state, nothing inherited from before.
        tracker.assign([p1])
        let inherited = tracker.markDone(p1, offset: 6)
        #expect(!inherited)
        #expect(tracker.positionsToCommit().isEmpty)
    }

    @Test("revoke returns only positions that moved")
    func revokePositions() {
        var tracker = KafkaOffsetTracker()
        tracker.assign([p0, p1])
        tracker.track(p0, offset: 0)
        tracker.track(p0, offset: 1)
        tracker.markDone(p0, offset: 1)
        tracker.track(p1, offset: 3)
        let revoked = tracker.revokeAll()
        #expect(revoked == [p0: 0])
        #expect(tracker.assignment.isEmpty)
    }
}
