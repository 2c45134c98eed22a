import Foundation
import PlanRouterCore
import PlanRouterMessaging
import Testing

@testable import PlanRouterWorkers

@Suite struct NotifyPolicyTests {
    @Test func retriesBackOffExponentiallyWithinBounds() {
        let s = NotifySettings(retryInitial: .seconds(5), retryMaximum: .seconds(600))
        #expect(s.retryDelay(afterAttempt: 1, random: 1) == .seconds(5))
        #expect(s.retryDelay(afterAttempt: 1, random: 0) == .milliseconds(2500))
        #expect(s.retryDelay(afterAttempt: 3, random: 1) == .seconds(20))
        #expect(s.retryDelay(afterAttempt: 30, random: 1) == .seconds(600))
    }

    @Test func sendsAreSpacedPerSender() {
        var spacing = SendSpacing()
        let t0 = ContinuousClock.now
        #expect(spacing.reserve("a", rate: 10, now: t0) == .zero)
        #expect(spacing.reserve("a", rate: 10, now: t0) == .milliseconds(100))
        #expect(spacing.reserve("a", rate: 10, now: t0) == .milliseconds(200))
        #expect(spacing.reserve("b", rate: 10, now: t0) == .zero)
        #expect(spacing.reserve("a", rate: 10, now: t0 + .seconds(1)) == .zero)
    }

    @Test func twilioAnswersClassify() {
        #expect(TwilioSMSAdapter.outcome(status: 201, json: .object(["sid": "SM1", "status": "queued"])) == .accepted(providerID: "SM1"))
        #expect(TwilioSMSAdapter.outcome(status: 400, json: .object(["code": 21211])) == .permanent(errorClass: "twilio_21211"))
        #expect(TwilioSMSAdapter.outcome(status: 400, json: .object(["code": 21610])) == .optedOut(errorClass: "twilio_21610"))
        #expect(TwilioSMSAdapter.outcome(status: 503, json: nil) == .transient(errorClass: "http_503"))
        #expect(TwilioSMSAdapter.outcome(status: 429, json: .object(["code": 20429])) == .transient(errorClass: "twilio_20429"))
        #expect(TwilioSMSAdapter.outcome(status: 401, json: .object(["code": 20003])) == .transient(errorClass: "twilio_20003"))
    }

    @Test func smtpRepliesClassify() {
        #expect(SMTPEmailAdapter.outcome(SMTPError(code: 550, step: "rcpt", afterData: false)) == .permanent(errorClass: "smtp_550"))
        #expect(SMTPEmailAdapter.outcome(SMTPError(code: 451, step: "data", afterData: true)) == .transient(errorClass: "smtp_451"))
        #expect(SMTPEmailAdapter.outcome(SMTPError(code: 535, step: "auth", afterData: false)) == .transient(errorClass: "smtp_535"))
        #expect(SMTPEmailAdapter.outcome(SMTPError(code: nil, step: "connect", afterData: false)) == .transient(errorClass: "smtp_connect"))
    }
}
