import Foundation
import PlanRouterCore

/// Settings of the offer worker.
public struct OfferSettings: Sendable {
    /// Booking links are `<bookingBaseURL>/book/<token>`.
    public var bookingBaseURL: String
    /// HMAC key for booking tokens; the booking service must use the same secret.
    public var bookingKey: BookingKey
    public var currency: String = "USD"
    /// A location whose schedule mirror was not refreshed (no schedule.changed applied) for
    /// longer than this does not self-book: its cases go to a coordinator ("calendar stale").
    /// Measured on the worker's clock. Default: 24 h.
    public var calendarStaleAfter: Duration = .seconds(24 * 3600)
    /// Memory the in-memory calendars may use (estimated); least recently used locations are
    /// dropped beyond it. Default: `defaultCalendarCacheMB`.
    public var calendarCacheBytes: Int = CalendarStore.defaultBudgetBytes
    /// The calendar cache's default budget in MiB (`--calendar-cache-mb`).
    public static let defaultCalendarCacheMB = CalendarStore.defaultBudgetBytes >> 20

    public init(bookingBaseURL: String, bookingSecret: String) {
        self.bookingBaseURL = bookingBaseURL.hasSuffix("/") ? String(bookingBaseURL.dropLast()) : bookingBaseURL
        self.bookingKey = BookingToken.key(fromSecret: bookingSecret)
    }

    func link(_ token: BookingToken) -> String { "\(bookingBaseURL)/book/\(token.sign(secret: bookingKey))" }
}
