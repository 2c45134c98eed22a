/// Part of the day, by local start time: morning < 12:00, afternoon 12:00-17:00, evening >= 17:00.
public enum TimeOfDay: String, Sendable, CaseIterable {
    case morning, afternoon, evening

    /// Local seconds since local midnight at which each part starts.
    static let starts: [(TimeOfDay, Int64)] = [(.morning, 0), (.afternoon, 12 * 3600), (.evening, 17 * 3600)]

    public init(secondsSinceLocalMidnight s: Int64) {
        if s < 12 * 3600 {
            self = .morning
        } else if s < 17 * 3600 {
            self = .afternoon
        } else {
            self = .evening
        }
    }
}
