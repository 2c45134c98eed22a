import Foundation
import PlanRouterCore
import Testing

@Suite struct TwilioSignatureTests {
    /// Twilio's worked example (twilio.com/docs/usage/security, "Validating requests"), in
    /// both versions its page has carried: auth token 12345, this URL and these parameters.
    static let url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    static func params(caller: String) -> [(String, String)] {
        [("CallSid", "CA1234567890ABCDE"), ("Caller", caller), ("Digits", "1234"), ("From", caller), ("To", "+18005551212")]
    }

    @Test func documentedExamples() {
        #expect(
            TwilioSignature.sign(url: Self.url, parameters: Self.params(caller: "+12349013030"), authToken: "12345")
                == "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
        #expect(
            TwilioSignature.sign(url: Self.url, parameters: Self.params(caller: "+14158675310"), authToken: "12345")
                == "GvWf1cFY/Q7PnoempGyD5oXAezc=")
    }

    @Test func parameterOrderDoesNotMatter() {
        let p = Self.params(caller: "+14158675310")
        #expect(
            TwilioSignature.isValid(signature: "GvWf1cFY/Q7PnoempGyD5oXAezc=", url: Self.url, parameters: p.reversed(), authToken: "12345"))
    }

    @Test func tamperedRequestsAreInvalid() {
        let good = "GvWf1cFY/Q7PnoempGyD5oXAezc="
        var p = Self.params(caller: "+14158675310")
        #expect(TwilioSignature.isValid(signature: good, url: Self.url, parameters: p, authToken: "12345"))
        p[2] = ("Digits", "1235")
        #expect(!TwilioSignature.isValid(signature: good, url: Self.url, parameters: p, authToken: "12345"))
        #expect(
            !TwilioSignature.isValid(
                signature: good, url: Self.url + "&x=1", parameters: Self.params(caller: "+14158675310"), authToken: "12345"))
        #expect(
            !TwilioSignature.isValid(signature: good, url: Self.url, parameters: Self.params(caller: "+14158675310"), authToken: "12346"))
        #expect(!TwilioSignature.isValid(signature: "", url: Self.url, parameters: Self.params(caller: "+14158675310"), authToken: "12345"))
    }
}

@Suite struct MessagingWordingTests {
    @Test func formEncodingRoundTrips() {
        let pairs = [("To", "+15555550123"), ("Body", "Hi Maria & co: 50% off? a=b"), ("DateSent>", "2026-11-29")]
        let encoded = FormURLEncoding.encode(pairs)
        #expect(encoded.contains("To=%2B15555550123"))
        #expect(FormURLEncoding.decode(encoded).map { [$0.0, $0.1] } == pairs.map { [$0.0, $0.1] })
        #expect(FormURLEncoding.decode("Body=Hello+world").first?.1 == "Hello world")
    }

    @Test func consentKeywords() {
        for w in ["STOP", "stop", " Stop ", "STOPALL", "unsubscribe", "CANCEL", "end", "QUIT", "stop."] {
            #expect(ConsentKeyword(message: w) == .optOut, "\(w)")
        }
        for w in ["START", "unstop"] { #expect(ConsentKeyword(message: w) == .optIn) }
        #expect(ConsentKeyword(message: "help") == .help)
        for w in ["1", "please stop calling me", "Stopping by later", ""] { #expect(ConsentKeyword(message: w) == nil, "\(w)") }
    }

    @Test func firstTextCarriesTheOptOutLineOnce() {
        let t = SMSWording.firstText("Smile Dental: 3 openings. Book: https://b.example/x")
        #expect(t.hasSuffix("\nReply STOP to opt out."))
        #expect(SMSWording.firstText("Reply STOP to end") == "Reply STOP to end")
        let long = SMSWording.firstText(String(repeating: "a", count: 1600))
        #expect(long.count == 1600 && long.hasSuffix(SMSWording.optOutLine))
    }

    @Test func twilioStatusesMapForwardOnly() {
        #expect(DeliveryStatus(twilioStatus: "delivered") == .delivered)
        #expect(DeliveryStatus(twilioStatus: "queued") == nil)
        #expect(DeliveryStatus.sent.progress < DeliveryStatus.delivered.progress)
        #expect(DeliveryStatus.sending.progress < DeliveryStatus.sent.progress)
    }
}

@Suite struct EmailMessageTests {
    static let mail = EmailMessage(
        from: "Smile Dental <no-reply@smile.example>", to: "maria@example.com", subject: "Your openings",
        body: "Line one\n.starts with a dot\n..two dots\r\nlast", messageID: "msg-1", date: Date(timeIntervalSince1970: 1_764_000_000))

    @Test func dotStuffingAndLineEnds() {
        let data = Self.mail.data
        #expect(data.contains("\r\n..starts with a dot\r\n"))
        #expect(data.contains("\r\n...two dots\r\n"))
        #expect(data.hasSuffix("last\r\n"))
        #expect(!data.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        #expect(data.contains("Message-ID: <msg-1@planrouter>\r\n"))
        #expect(EmailMessage.address("Smile Dental <no-reply@smile.example>") == "no-reply@smile.example")
    }

    @Test func headerValuesCannotAddHeaders() {
        var m = Self.mail
        m.subject = "Hi\r\nBcc: evil@example.com"
        #expect(!m.data.contains("\r\nBcc:"))
        m.subject = "Rendez-vous confirmé"
        #expect(m.data.contains("Subject: =?utf-8?B?"))
    }
}

@Suite struct MessagingConfigurationTests {
    static let yaml = """
        organizations:
          org-1:
            practice: {name: Smile Dental, phone: "+15555550100"}
            sms: {account_sid: AC1, auth_token_env: TWILIO_TOKEN, from: "+15005550006", rate_per_second: 5}
            email: {host: smtp.example.com, port: 587, from: "Smile <no-reply@smile.example>", username: apikey, password_env: SMTP_PASSWORD}
          "*":
            email: {host: localhost, port: 2525, from: "x@y.example", starttls: "off"}
        """

    @Test func parsesSecretsFromTheEnvironment() throws {
        let c = try MessagingConfiguration.parse(yaml: Self.yaml, environment: ["TWILIO_TOKEN": "t0k", "SMTP_PASSWORD": "pw"])
        #expect(c.organization("org-1")?.sms?.authToken == "t0k")
        #expect(c.organization("org-1")?.sms?.ratePerSecond == 5)
        #expect(c.organization("org-1")?.email?.password == "pw")
        #expect(c.organization("org-1")?.email?.startTLS == .required)
        #expect(c.organization("org-9")?.email?.startTLS == .off)
        #expect(c.organization(sender: "+15005550006")?.id == "org-1")
        #expect(c.sms(account: "AC1")?.from == "+15005550006")
    }

    @Test func aMissingSecretIsAnError() {
        #expect(throws: MessagingConfigurationError.self) {
            try MessagingConfiguration.parse(yaml: Self.yaml, environment: ["SMTP_PASSWORD": "pw"])
        }
    }
}

@Suite struct MessageTemplateRenderTests {
    @Test func fillsEveryPlaceholderItHasAValueFor() {
        let out = MessageTemplates.render(
            "{practice}: {first_name}, pick a time: {link} ({link})",
            ["practice": "Bright Smiles", "first_name": "Ana", "link": "https://x/b/1"])
        #expect(out == "Bright Smiles: Ana, pick a time: https://x/b/1 (https://x/b/1)")
    }

    @Test func leavesUnknownPlaceholdersAndStrayBracesAsWritten() {
        #expect(MessageTemplates.render("a {unknown} b", ["link": "L"]) == "a {unknown} b")
        #expect(MessageTemplates.render("{{link}} {", ["link": "L"]) == "{L} {")
        #expect(MessageTemplates.render("} {link", ["link": "L"]) == "} {link")
        #expect(MessageTemplates.render("", ["link": "L"]) == "")
        #expect(MessageTemplates.render("héllo {name} ✓", ["name": "Zoë"]) == "héllo Zoë ✓")
    }

    /// A value is text, never a template: a name holding "{link}" must not pull the link in.
    @Test func valuesAreNotRenderedAgain() {
        let out = MessageTemplates.render("{first_name} {link}", ["first_name": "{link}", "link": "L"])
        #expect(out == "{link} L")
    }
}
