import Foundation
import Hummingbird
import HummingbirdTesting
import PlanRouterBooking
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStaff
import PlanRouterStore
import Testing

/// The coordinator workspace's pages and actions on the staff surface (issue 13 point 4): the
/// staff fixture's org-1 case p1 (offered, three held openings, an open task) and org-2's task.
@Suite struct WorkspaceTests {
    /// A signed-in browser: its cookie and the CSRF token of its forms.
    struct Browser {
        var cookie: HTTPFields
        var csrf: String
    }

    static func signIn(_ client: any TestClientProtocol, _ login: String) async throws -> Browser {
        let response = try await client.execute(
            uri: "/signin", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
            body: ByteBuffer(string: "login=\(login)&password=correct-horse-battery&redirect=%2Fworkspace"))
        #expect(response.status == .seeOther)
        #expect(response.headers[.location] == "/workspace")
        let cookie: HTTPFields = [.cookie: String(try #require(response.headers[.setCookie]).split(separator: ";")[0])]
        let csrf = try #require(try await client.execute(uri: "/session", method: .get, headers: cookie).json["csrf_token"]?.stringValue)
        return Browser(cookie: cookie, csrf: csrf)
    }

    static func post(
        _ client: any TestClientProtocol, _ browser: Browser, _ task: String, _ action: String, _ fields: String, version: Int,
        csrf: String? = nil
    ) async throws -> TestResponse {
        var headers = browser.cookie
        headers[.contentType] = "application/x-www-form-urlencoded"
        return try await client.execute(
            uri: "/workspace/tasks/\(task)/\(action)", method: .post, headers: headers,
            body: ByteBuffer(string: "csrf_token=\(csrf ?? browser.csrf)&version=\(version)&\(fields)"))
    }

    static func version(_ f: StaffFixture, _ task: String) async throws -> Int {
        Int(try await f.booking.count("SELECT version::int8 FROM coordinator_tasks WHERE public_id = '\(task)'"))
    }

    @Test func pagesNeedCredentialsAndHideOtherOrganizations() async throws {
        let f = try await StaffFixture()
        let key = try await f.key()
        let (mine, theirs) = (try await f.taskID("p1"), try await f.taskID("p1", org: "org-2"))
        try await f.test { client async throws in
            for page in ["/workspace", "/workspace/tasks/\(mine)", "/workspace/dashboard"] {
                let anonymous = try await client.execute(uri: page, method: .get)
                #expect(anonymous.status == .seeOther && anonymous.headers[.location] == "/signin", "\(page)")
            }
            let form = try await client.execute(uri: "/signin", method: .get)
            #expect(form.status == .ok && form.text.contains("name=\"password\"") && form.text.contains("name=\"viewport\""))
            let post = try await client.staffPost(
                "/workspace/tasks/\(mine)/snooze", key: nil, contentType: "application/x-www-form-urlencoded", body: "version=1")
            #expect(post.status == .unauthorized)
            let page = try await client.staffGet("/workspace/tasks/\(mine)", key: key)
            #expect(page.status == .ok)
            // PHI on the page, escaped: the fixture's first name is "<Ann>".
            #expect(page.text.contains("&lt;Ann&gt; Secretlast") && !page.text.contains("<Ann>"))
            #expect(page.text.contains("href=\"tel:+15550001111\"") && page.text.contains("crown") && page.text.contains("$1,350.00"))
            #expect(try await client.staffGet("/workspace/tasks/\(theirs)", key: key).status == .notFound)
            #expect(try await client.staffGet("/workspace/tasks/not-a-uuid", key: key).status == .notFound)
            let queue = try await client.staffGet("/workspace", key: key)
            #expect(queue.text.contains("/workspace/tasks/\(mine)") && !queue.text.contains(theirs))
            #expect(try await client.staffGet("/", key: nil).headers[.location] == "/workspace")
        }
        await f.pool.close()
    }

    @Test func formsNeedTheSessionsCSRFToken() async throws {
        let f = try await StaffFixture()
        try await f.user("anna", password: "correct-horse-battery")
        let task = try await f.taskID("p1")
        try await f.test { client async throws in
            let anna = try await Self.signIn(client, "anna")
            let forged = try await Self.post(client, anna, task, "attempt", "channel=call&outcome=reached", version: 1, csrf: "forged")
            #expect(forged.status == .forbidden)
            let done = try await Self.post(client, anna, task, "attempt", "channel=call&outcome=no_answer&note=rang+twice", version: 1)
            #expect(done.status == .seeOther)
            #expect(done.headers[.location] == "/workspace/tasks/\(task)?done=attempt")
        }
        #expect(try await f.booking.count("SELECT count(*) FROM task_attempts WHERE outcome = 'no_answer' AND note = 'rang twice'") == 1)
        #expect(try await f.booking.count("SELECT count(*) FROM staff_audit WHERE action = 'record_attempt'") == 1)
        #expect(try await Self.version(f, task) == 2)
        await f.pool.close()
    }

    /// A snoozed task sinks below the others until its time; a form the server cannot use says what to fix.
    @Test func snoozedTasksSinkAndUnusableFormsSayWhy() async throws {
        let f = try await StaffFixture()
        try await f.user("anna", password: "correct-horse-battery")
        _ = try await f.booking.addCase(plan: "p2")
        let (first, second) = (try await f.taskID("p1"), try await f.taskID("p2"))
        try await f.test { client async throws in
            let anna = try await Self.signIn(client, "anna")
            func order() async throws -> [Bool] {
                let queue = try await client.execute(uri: "/workspace", method: .get, headers: anna.cookie).text
                let (a, b) = (try #require(queue.range(of: first)), try #require(queue.range(of: second)))
                return [a.lowerBound < b.lowerBound, queue.contains("<b>1</b> snoozed")]
            }
            #expect(try await order() == [true, false])
            // The fixture's clock is 09:30 in New York (loc-12): tomorrow 9:00 local is in 23.5 hours.
            let past = try await Self.post(client, anna, first, "snooze", "until=2026-12-01T08:00", version: 1)
            #expect(past.status == .unprocessableContent && past.text.contains("Snooze until a time within the next 30 days."))
            let snoozed = try await Self.post(client, anna, first, "snooze", "until=2026-12-02T09:00", version: 1)
            #expect(snoozed.status == .seeOther)
            #expect(try await order() == [false, true])
            let declined = try await Self.post(client, anna, second, "resolve", "outcome=declined", version: 1)
            #expect(declined.status == .unprocessableContent && declined.text.contains("Say why the patient declined."))
        }
        #expect(
            try await f.booking.count(
                "SELECT count(*) FROM coordinator_tasks WHERE snoozed_until = '2026-12-02T14:00:00Z' AND public_id = '\(first)'") == 1)
        #expect(
            try await f.booking.count("SELECT count(*) FROM coordinator_tasks WHERE status = 'open' AND organization_id = 'org-1'") == 2)
        await f.pool.close()
    }

    /// Two coordinators open the same case; the first acts, the second's form is refused and says why.
    @Test func aStaleFormIsRefusedAndSaysWhoChangedTheTask() async throws {
        let f = try await StaffFixture()
        try await f.user("anna", password: "correct-horse-battery")
        try await f.user("omar", password: "correct-horse-battery")
        let task = try await f.taskID("p1")
        try await f.test { client async throws in
            let anna = try await Self.signIn(client, "anna")
            let omar = try await Self.signIn(client, "omar")
            let rendered = try await Self.version(f, task)
            let page = try await client.execute(uri: "/workspace/tasks/\(task)", method: .get, headers: omar.cookie)
            #expect(page.text.contains("name=\"version\" value=\"\(rendered)\""))
            let reassigned = try await Self.post(client, anna, task, "reassign", "owner=omar", version: rendered)
            #expect(reassigned.status == .seeOther)
            let stale = try await Self.post(client, omar, task, "resolve", "outcome=unreachable", version: rendered)
            #expect(stale.status == .conflict)
            #expect(stale.text.contains("anna reassigned the task to omar"))
            #expect(stale.text.contains("nothing was done"))
            let fresh = try await Self.post(client, omar, task, "resolve", "outcome=unreachable", version: rendered + 1)
            #expect(fresh.status == .seeOther && fresh.headers[.location] == "/workspace?done=resolve")
        }
        #expect(try await f.booking.count("SELECT count(*) FROM coordinator_tasks WHERE owner_id = 'omar' AND status = 'resolved'") == 1)
        #expect(
            try await f.booking.count(
                "SELECT count(*) FROM staff_audit WHERE action IN ('reassign_task', 'resolve_task') AND state_before = 'offered'") == 2)
        await f.pool.close()
    }

    /// A coordinator's booking and the patient's link write the same records (the same code path).
    @Test func bookingForThePatientWritesWhatTheLinkWrites() async throws {
        let f = try await StaffFixture()
        try await f.user("anna", password: "correct-horse-battery")
        let (linkOffer, linkHolds) = try await f.booking.addCase(plan: "p2")
        let task = try await f.taskID("p1")
        try await f.booking.test { client in
            let booked = try await client.execute(
                uri: "/book/\(f.booking.token(offer: linkOffer, plan: "p2"))", method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: "reservation_id=\(linkHolds[0])"))
            #expect(booked.status == .ok)
        }
        try await f.test { client async throws in
            let anna = try await Self.signIn(client, "anna")
            let page = try await client.execute(uri: "/workspace/tasks/\(task)", method: .get, headers: anna.cookie)
            #expect(page.text.contains("name=\"reservation\" value=\"\(f.booking.holds[1])\""))
            let v = try await Self.version(f, task)
            let booked = try await Self.post(
                client, anna, task, "book", "offer=\(f.booking.offerID)&reservation=\(f.booking.holds[1])", version: v)
            #expect(booked.status == .seeOther && booked.headers[.location] == "/workspace?done=book")
        }
        func records(_ plan: String) async throws -> [Int64] {
            [
                try await f.booking.count(
                    "SELECT count(*) FROM plans WHERE plan_id = '\(plan)' AND organization_id = 'org-1' AND status = 'booked'"),
                try await f.booking.count("SELECT count(*) FROM reservations WHERE plan_id = '\(plan)' AND kind = 'booking' AND active"),
                try await f.booking.count("SELECT count(*) FROM offers WHERE plan_id = '\(plan)' AND used_at IS NOT NULL"),
                try await f.booking.count("SELECT count(*) FROM plan_events WHERE plan_id = '\(plan)' AND kind = 'booked'"),
                try await f.booking.count(
                    "SELECT count(*) FROM coordinator_tasks WHERE plan_id = '\(plan)' AND organization_id = 'org-1' AND status = 'open'"),
                try await f.booking.count(
                    "SELECT count(*) FROM outbox WHERE convert_from(payload, 'UTF8')::jsonb->'data'->>'plan_id' = '\(plan)'"),
            ]
        }
        let (staff, link) = (try await records("p1"), try await records("p2"))
        // Outbox: the appointment request and the patient's confirmation.
        #expect(staff == [1, 1, 1, 1, 0, 2])
        #expect(staff == link)
        #expect(
            try await f.booking.count(
                "SELECT count(*) FROM outbox WHERE convert_from(payload, 'UTF8')::jsonb->'data'->>'booked_via' = 'coordinator'") == 1)
        #expect(try await f.booking.count("SELECT count(*) FROM plan_events WHERE plan_id = 'p1' AND detail->>'via' = 'coordinator'") == 1)
        #expect(
            try await f.booking.count(
                "SELECT count(*) FROM staff_audit WHERE action = 'book_for_patient' AND state_before = 'offered' AND state_after = 'booked'"
            )
                == 1)
        await f.pool.close()
    }

    /// The dashboard's unscheduled production is the report's (both read analytics_benchmarks).
    @Test func theDashboardAgreesWithTheReport() async throws {
        let f = try await StaffFixture()
        let key = try await f.key()
        _ = try await f.booking.addCase(plan: "p2")
        let report = try await f.pool.withConnection { conn in
            try await AnalyticsReport.load(on: conn, organization: "org-1", from: nil, to: nil, asOf: BookingFixture.now)
        }
        #expect(report.total.unscheduledCents > 0)
        let figure =
            "<p class=\"figure\">$\(report.total.unscheduledCents / 100 / 1000),\(String(format: "%03lld", report.total.unscheduledCents / 100 % 1000)).00</p>"
        try await f.test { client async throws in
            let page = try await client.staffGet("/workspace/dashboard", key: key)
            #expect(page.status == .ok)
            #expect(page.text.contains(figure))
            #expect(page.text.contains("(default; no target configured)"))
            #expect(page.text.contains("<rect "))
            #expect(try await client.staffGet("/workspace/dashboard?location=loc-12", key: key).status == .ok)
        }
        // locations.yaml's targets: the location's wins over the organization's.
        let yaml = """
            format: 1
            organization: { id: org-1, name: Smile Group, same_day_target: 35% }
            locations:
              loc-12: { name: Smile Riverside, same_day_target: 55% }
              loc-99: { name: Smile Lakeside }
            """
        _ = try await f.pool.withConnection { try await LocationDirectoryRepository.load(yaml: yaml, now: BookingFixture.now, on: $0) }
        try await f.test { client async throws in
            let all = try await client.staffGet("/workspace/dashboard", key: key).text
            #expect(all.contains("target 35.0%") && !all.contains("no target configured"))
            #expect(try await client.staffGet("/workspace/dashboard?location=loc-12", key: key).text.contains("target 55.0%"))
        }
        await f.pool.close()
    }
}
