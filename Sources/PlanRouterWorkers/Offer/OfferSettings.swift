import Foundation
import PlanRouterCore

/// Settings of the offer worker.
public struct OfferSettings: Sendable {
    /// Booking links are `<bookingBaseURL>/book/<token>`.
    public var bookingBaseURL: String
    /// HMAC key for booking tokens; the booking service must use the same secret.
    public var bookingKey: BookingKey
    public var currency: String = "USD"

    public init(bookingBaseURL: String, bookingSecret: String) {
        self.bookingBaseURL = bookingBaseURL.hasSuffix("/") ? String(bookingBaseURL.dropLast()) : bookingBaseURL
        self.bookingKey = BookingToken.key(fromSecret: bookingSecret)
    }

    func link(_ token: BookingToken) -> String { "\(bookingBaseURL)/book/\(token.sign(secret: bookingKey))" }
}
