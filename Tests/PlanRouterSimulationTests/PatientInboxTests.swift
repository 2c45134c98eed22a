import Foundation
import Testing

@testable import PlanRouterSimulation

/// How the simulated patients read what they receive (PatientInbox) and how a text's answer is counted.
@Suite struct PatientInboxTests {
    @Test func anEmailFromTheSinkIsReadWithItsRecipientAndLinks() throws {
        let raw =
            "From: Bright Smiles <appointments@brightsmiles.example>\r\nTo: Maria <patient7@example.com>\r\nSubject: Book your visit\r\n"
            + "Content-Type: text/plain; charset=utf-8\r\n\r\nHi Maria,\r\n\r\nBook here: http://127.0.0.1:18080/book/abc.def.\r\n"
        let m = try #require(PatientInbox.parseEmail(raw))
        #expect(m.channel == .email)
        #expect(m.to == "patient7@example.com")
        #expect(m.bookingToken == "abc.def")
        #expect(m.checkoutURL == nil)
        #expect(PatientInbox.parseEmail("To: nobody\r\nno blank line") == nil)
    }

    @Test func aDepositTextLinksTheCheckoutPageAndNoBookingLink() {
        let m = ReceivedMessage(
            channel: .sms, to: "+15551000001", from: "+15555550199",
            body: "Hi Maria, we are holding your visit. Pay the $500.00 deposit to confirm it: http://127.0.0.1:18098/pay/cs_test_1a2b")
        #expect(m.checkoutURL == "http://127.0.0.1:18098/pay/cs_test_1a2b")
        #expect(m.bookingToken == nil)
    }

    @Test func aTextsOutcomeIsReadFromTheAnswerThePatientGot() {
        #expect(PatientPhone.outcome(ofText: "STOP", answers: []) == "opt_out")
        #expect(
            PatientPhone.outcome(ofText: "2", answers: ["You're booked: Thu Dec 3, 8:00 AM at the office. See you then!"]) == "reply_booked"
        )
        #expect(
            PatientPhone.outcome(ofText: "1", answers: ["We are holding Thu Dec 3, 8:00 AM at the office for you until …"])
                == "reply_provisional")
        #expect(PatientPhone.outcome(ofText: "3", answers: ["That offer is no longer open. Please call the office."]) == "reply_not_booked")
        #expect(PatientPhone.outcome(ofText: "1", answers: []) == "reply_unanswered")
    }

    @Test func depositPayingRatesAreTunablePerTier() throws {
        var model = SimulationModel()
        try model.set("pay_deposit.surgical=0.5")
        try model.set("opt_out_share=0.03")
        #expect(model.payDeposit["surgical"] == 0.5)
        #expect(model.optOutShare == 0.03)
        #expect(throws: SimulationError.self) { try model.set("pay_deposit.unknown=0.5") }
    }
}
