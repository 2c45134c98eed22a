extension Array {
    /// The same elements in an array of exactly their length (a copy only when this one has room
    /// to spare). Lists built by appending keep up to twice the room they use; an array kept for
    /// long, as a cached calendar's, should not.
    func withoutSpareCapacity() -> [Element] {
        capacity > count ? withUnsafeBufferPointer { Array($0) } : self
    }
}
