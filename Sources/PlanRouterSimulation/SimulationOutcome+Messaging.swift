import Foundation
import PlanRouterStore

extension SimulationOutcome {
    /// Messages sent / delivered / failed by channel, opt-outs, replies that booked, deposit conversion by
    /// tier and provisional bookings lost to unpaid deposits: the pipeline's tables, with the patients'
    /// replies and payments as the simulator saw them answered.
    func renderMessaging() -> String {
        guard let m = messaging else { return "" }
        func pct(_ part: Int, _ whole: Int) -> String { whole > 0 ? String(format: "%.0f%%", Double(part) / Double(whole) * 100) : "n/a" }
        var out = "\n  patient messages (through the Twilio emulator and the SMTP sink; message_deliveries)\n"
        out += "    channel   sent   delivered   failed   not sent: opted out / case closed\n"
        for c in m.channels {
            // SMTP reports acceptance by the relay only: there is no delivery receipt to count for email.
            let delivered = c.channel == "email" ? "n/a" : String(c.delivered)
            out += "    \(MetricPad.pad(c.channel, 8))  \(MetricPad.pad(String(c.sent), 5))  \(MetricPad.pad(delivered, 10))  "
            out += "\(MetricPad.pad(String(c.failed), 7))  \(c.suppressed) / \(c.cancelled)\n"
        }
        let booked = counters["reply_booked", default: 0] + counters["reply_provisional", default: 0]
        let replies = booked + counters["reply_not_booked", default: 0] + counters["reply_unanswered", default: 0]
        out += "    opt-outs (STOP): \(m.optOuts); replies 1/2/3: \(replies), of which booked \(booked)"
        out += " (\(counters["reply_provisional", default: 0]) held for a deposit)\n"
        out += "\n  deposits (through the Stripe emulator; deposits)\n"
        out += "    tier          requested   paid   conversion\n"
        for t in m.deposits {
            out += "    \(MetricPad.pad(t.tier, 12))  \(MetricPad.pad(String(t.requested), 10))  \(MetricPad.pad(String(t.paid), 5))  "
            out += "\(pct(t.paid, t.requested))\n"
        }
        let toConfirm = m.deposits.map(\.toConfirm).reduce(0, +)
        out += "    provisional bookings lost to unpaid deposits: \(m.provisionalLost) of \(toConfirm) held"
        out += " (\(counters["deposit_too_late", default: 0]) patients tried to pay after the hold ran out)\n"
        return out
    }
}
