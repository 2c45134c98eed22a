import Foundation
import Hummingbird
import HummingbirdTesting
import PlanRouterBooking
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStaff
import PlanRouterStore
import Testing

/// Who may do what on the staff surface: two organizations, location scopes, roles, credentials,
/// media types, Origin, browser sessions with CSRF, and the audit record.
@Suite struct StaffAccessTests {
    @Test func anotherOrganizationsTasksAreNotFound() async throws {
        let f = try await StaffFixture()
        let (a, b) = (try await f.key("org-1"), try await f.key("org-2"))
        let (taskA, taskB) = (try await f.taskID("p1", org: "org-1"), try await f.taskID("p1", org: "org-2"))
        try await f.test { client async throws in
            let listA = try await client.staffGet("/tasks", key: a).json["tasks"]?.arrayValue ?? []
            #expect(listA.map { $0["id"]?.stringValue } == [taskA])
            let listB = try await client.staffGet("/tasks", key: b).json["tasks"]?.arrayValue ?? []
            #expect(listB.map { $0["id"]?.stringValue } == [taskB])
            // Filters cannot reach across either.
            #expect(try await client.staffGet("/tasks?location=loc-b1", key: a).json["tasks"] == [])
            // Resolving the other organization's task: not found, exactly like a task that does not exist.
            let cross = try await client.resolve(taskB, "declined", key: a)
            let missing = try await client.resolve(UUID().uuidString, "declined", key: a)
            #expect(cross.status == .notFound)
            #expect(cross.text == missing.text)
        }
        #expect(
            try await f.booking.count("SELECT count(*) FROM coordinator_tasks WHERE organization_id = 'org-2' AND status = 'open'") == 1)
        #expect(try await f.booking.count("SELECT count(*) FROM plans WHERE organization_id = 'org-2' AND status = 'escalated'") == 1)
        await f.pool.close()
    }

    @Test func aCoordinatorScopedToALocationSeesOnlyIt() async throws {
        let f = try await StaffFixture()
        try await f.pool.withConnection { conn in
            _ = try await conn.execute(
                """
                INSERT INTO coordinator_tasks (organization_id, plan_id, location_id, owner_id, kind, reason, created_at)
                VALUES ('org-1', 'p1', 'loc-99', 'tc-bob', 'callback', 'at loc-99', $1)
                """, BookingFixture.now)
        }
        let only99 = try await f.key("org-1", .coordinator, locations: ["loc-99"])
        let task12 = try await f.taskID("p1")
        try await f.test { client async throws in
            let list = try await client.staffGet("/tasks", key: only99).json["tasks"]?.arrayValue ?? []
            #expect(list.map { $0["reason"]?.stringValue } == ["at loc-99"])
            #expect(try await client.staffGet("/tasks?location=loc-12", key: only99).json["tasks"] == [])
            #expect(try await client.resolve(task12, "declined", key: only99).status == .notFound)
        }
        #expect(try await f.booking.count("SELECT count(*) FROM coordinator_tasks WHERE location_id = 'loc-12' AND status = 'open'") == 1)
        await f.pool.close()
    }

    @Test func aRoleWithoutThePermissionIsForbidden() async throws {
        let f = try await StaffFixture()
        let (coordinator, manager, admin) = (
            try await f.key(), try await f.key("org-1", .locationManager), try await f.key("org-1", .orgAdmin)
        )
        try await f.test { client async throws in
            #expect(try await client.staffGet("/audit", key: coordinator).status == .forbidden)
            #expect(try await client.staffGet("/audit", key: manager).status == .ok)
            #expect(try await client.staffGet("/audit", key: admin).status == .ok)
        }
        await f.pool.close()
    }

    @Test func missingUnknownMalformedAndRevokedCredentialsAreUnauthorized() async throws {
        let f = try await StaffFixture()
        let key = try await f.key()
        let task = try await f.taskID("p1")
        try await f.test { client async throws in
            let none = try await client.staffGet("/tasks", key: nil)
            #expect(none.status == .unauthorized)
            #expect(none.headers[.wwwAuthenticate] == "Bearer")
            #expect(try await client.staffGet("/tasks", key: StaffSecret.generate(.apiKey).text).status == .unauthorized)
            #expect(try await client.staffGet("/tasks", key: "prk_short").status == .unauthorized)
            #expect(try await client.staffGet("/tasks", key: nil, headers: [.authorization: "Basic dXNlcjpwYXNz"]).status == .unauthorized)
            #expect(try await client.resolve(task, "declined", key: nil).status == .unauthorized)
            #expect(try await client.staffGet("/tasks", key: key).status == .ok)
        }
        let id = try await f.pool.withConnection { conn in try await StaffAdministration.listKeys(organizationID: "org-1", on: conn)[0].id }
        // Revoking needs the key's own organization.
        #expect(
            try await f.pool.withConnection {
                try await StaffAdministration.revokeKey(id, organizationID: "org-2", now: BookingFixture.now, on: $0)
            } == false)
        #expect(
            try await f.pool.withConnection {
                try await StaffAdministration.revokeKey(id, organizationID: "org-1", now: BookingFixture.now, on: $0)
            })
        try await f.test { client async throws in #expect(try await client.staffGet("/tasks", key: key).status == .unauthorized) }
        // Only the hash is stored.
        #expect(
            try await f.booking.count("SELECT count(*) FROM staff_api_keys WHERE position('\(key)' in encode(secret_sha256, 'escape')) > 0")
                == 0)
        await f.pool.close()
    }

    @Test func jsonEndpointsRequireJSONAndTheStaffOrigin() async throws {
        let f = try await StaffFixture()
        let key = try await f.key()
        let task = try await f.taskID("p1")
        try await f.test { client async throws in
            let plain = try await client.staffPost(
                "/tasks/\(task)/resolve", key: key, contentType: "text/plain", body: #"{"outcome": "declined"}"#)
            #expect(plain.status == .unsupportedMediaType)
            // A form is a browser's request: it needs a session and its CSRF token, not a key.
            let form = try await client.staffPost(
                "/tasks/\(task)/resolve", key: key, contentType: "application/x-www-form-urlencoded", body: "outcome=declined")
            #expect(form.status == .unsupportedMediaType)
            let evil = try await client.resolve(task, "declined", key: key, headers: [.origin: "https://evil.example"])
            #expect(evil.status == .forbidden)
            #expect(try await client.staffGet("/tasks", key: key, headers: [.origin: "https://evil.example"]).status == .forbidden)
            #expect(
                try await f.booking.count("SELECT count(*) FROM coordinator_tasks WHERE organization_id = 'org-1' AND status = 'open'") == 1
            )
            let ours = try await client.resolve(task, "declined", key: key, headers: [.origin: StaffFixture.origin])
            #expect(ours.status == .ok)
            // A declared body over the limit is refused before it is read.
            let big = try await client.staffPost(
                "/tasks/\(task)/resolve", key: key, body: String(repeating: " ", count: 20_000) + "{}")
            #expect(big.status == .contentTooLarge)
        }
        await f.pool.close()
    }

    @Test func browserSessionsUseStrictCookiesAndCSRFTokens() async throws {
        let f = try await StaffFixture()
        try await f.user("anna@example.org", password: "correct horse battery")
        _ = try await f.booking.addCase(plan: "p2")
        let (t1, t2) = (try await f.taskID("p1"), try await f.taskID("p2"))
        try await f.test { client async throws in
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            let wrong = try await client.execute(
                uri: "/signin", method: .post, headers: form, body: ByteBuffer(string: "login=anna%40example.org&password=nope"))
            #expect(wrong.status == .unauthorized)
            #expect(wrong.headers[.setCookie] == nil)
            let unknown = try await client.execute(
                uri: "/signin", method: .post, headers: form, body: ByteBuffer(string: "login=nobody&password=nope"))
            #expect(unknown.text == wrong.text)

            let signIn = try await client.execute(
                uri: "/signin", method: .post, headers: form,
                body: ByteBuffer(string: "login=ANNA%40example.org&password=correct+horse+battery"))
            #expect(signIn.status == .seeOther)
            let setCookie = try #require(signIn.headers[.setCookie])
            #expect(setCookie.hasPrefix("planrouter_session=prs_"))
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("Secure") && setCookie.contains("SameSite=Strict"))
            let cookieValue = String(setCookie.split(separator: ";")[0])
            let cookie: HTTPFields = [.cookie: cookieValue]

            let me = try await client.execute(uri: "/session", method: .get, headers: cookie)
            #expect(me.status == .ok)
            #expect(me.json["organization_id"] == "org-1" && me.json["role"] == "coordinator")
            let csrf = try #require(me.json["csrf_token"]?.stringValue)
            #expect(try await client.execute(uri: "/tasks", method: .get, headers: cookie).status == .ok)

            // A form post without the token (what a cross-site form would send) is refused, as is a wrong one.
            var formWithCookie = cookie
            formWithCookie[.contentType] = "application/x-www-form-urlencoded"
            let noToken = try await client.execute(
                uri: "/tasks/\(t1)/resolve", method: .post, headers: formWithCookie, body: ByteBuffer(string: "outcome=declined"))
            #expect(noToken.status == .forbidden)
            let badToken = try await client.execute(
                uri: "/tasks/\(t1)/resolve", method: .post, headers: formWithCookie,
                body: ByteBuffer(string: "outcome=declined&csrf_token=\(String(csrf.reversed()))"))
            #expect(badToken.status == .forbidden)
            // JSON riding on the cookie needs the token too, in its header.
            var jsonWithCookie = cookie
            jsonWithCookie[.contentType] = "application/json"
            let jsonNoToken = try await client.execute(
                uri: "/tasks/\(t1)/resolve", method: .post, headers: jsonWithCookie, body: ByteBuffer(string: #"{"outcome": "declined"}"#))
            #expect(jsonNoToken.status == .forbidden)
            #expect(
                try await f.booking.count("SELECT count(*) FROM coordinator_tasks WHERE organization_id = 'org-1' AND status = 'open'") == 2
            )

            let ok = try await client.execute(
                uri: "/tasks/\(t1)/resolve", method: .post, headers: formWithCookie,
                body: ByteBuffer(string: "outcome=declined&csrf_token=\(csrf)"))
            #expect(ok.status == .ok)
            jsonWithCookie[.init(StaffConfiguration.csrfHeader)!] = csrf
            let okJSON = try await client.execute(
                uri: "/tasks/\(t2)/resolve", method: .post, headers: jsonWithCookie,
                body: ByteBuffer(string: #"{"outcome": "unreachable"}"#))
            #expect(okJSON.status == .ok)

            // Sessions expire.
            f.clock.advance(by: 9 * 3600)
            #expect(try await client.execute(uri: "/tasks", method: .get, headers: cookie).status == .unauthorized)
        }
        #expect(try await f.booking.count("SELECT count(*) FROM staff_audit WHERE action = 'sign_in'") == 1)
        // The cookie's secret is not what the table holds.
        #expect(try await f.booking.count("SELECT count(*) FROM staff_sessions WHERE length(secret_sha256) = 32") == 1)
        await f.pool.close()
    }

    @Test func signingOutNeedsTheTokenAndEndsTheSession() async throws {
        let f = try await StaffFixture()
        try await f.user("bo", password: "a long enough password")
        try await f.test { client async throws in
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            let signIn = try await client.execute(
                uri: "/signin", method: .post, headers: form, body: ByteBuffer(string: "login=bo&password=a+long+enough+password"))
            let cookieValue = String(try #require(signIn.headers[.setCookie]).split(separator: ";")[0])
            var headers = form
            headers[.cookie] = cookieValue
            let csrf = try #require(
                try await client.execute(uri: "/session", method: .get, headers: [.cookie: cookieValue]).json["csrf_token"]?.stringValue)
            #expect(
                try await client.execute(uri: "/signout", method: .post, headers: headers, body: ByteBuffer(string: "")).status
                    == .forbidden)
            let out = try await client.execute(
                uri: "/signout", method: .post, headers: headers, body: ByteBuffer(string: "csrf_token=\(csrf)"))
            #expect(out.status == .seeOther)
            #expect(out.headers[.setCookie]?.contains("Max-Age=0") == true)
            #expect(try await client.execute(uri: "/tasks", method: .get, headers: [.cookie: cookieValue]).status == .unauthorized)
        }
        #expect(try await f.booking.count("SELECT count(*) FROM staff_sessions") == 0)
        await f.pool.close()
    }

    @Test func everyResolutionIsAuditedAndTheAuditCannotBeChanged() async throws {
        let f = try await StaffFixture()
        let key = try await f.key()
        let admin = try await f.key("org-1", .orgAdmin)
        let task = try await f.taskID("p1")
        let requestID = try await f.test { client async throws in
            let r = try await client.resolve(task, "declined", key: key)
            #expect(r.status == .ok)
            return try #require(r.headers[.init("X-Request-ID")!])
        }
        let actor = try await f.pool.withConnection { conn in
            // The coordinator's key (both keys were made at the same instant: pick by role, not by order).
            "key:"
                + (try await StaffAdministration.listKeys(organizationID: "org-1", on: conn).first { $0.role == .coordinator }!.id
                    .uuidString.lowercased())
        }
        let entries = try await f.test { client in try await client.staffGet("/audit", key: admin).json["entries"]?.arrayValue ?? [] }
        #expect(entries.count == 1)
        let e = try #require(entries.first)
        #expect(e["actor"]?.stringValue == actor)
        #expect(e["actor_role"] == "coordinator")
        #expect(e["action"] == "resolve_task")
        #expect(e["plan_id"] == "p1")
        #expect(e["task_id"]?.stringValue == task)
        #expect(e["state_before"] == "offered" && e["state_after"] == "declined")
        #expect(e["request_id"]?.stringValue == requestID)
        #expect(e["at"] == "2026-12-01T14:30:00Z")
        // The other organization's admin sees none of it.
        let otherAdmin = try await f.key("org-2", .orgAdmin)
        #expect(try await f.test { try await $0.staffGet("/audit", key: otherAdmin).json["entries"] } == [])

        for statement in ["UPDATE staff_audit SET action = 'nothing'", "DELETE FROM staff_audit", "TRUNCATE staff_audit"] {
            await #expect(throws: PostgresError.self, "\(statement)") {
                try await f.pool.withConnection { conn in _ = try await conn.execute(statement) }
            }
        }
        #expect(try await f.booking.count("SELECT count(*) FROM staff_audit WHERE action = 'resolve_task'") == 1)
        await f.pool.close()
    }

    @Test func theSurfacesServeNothingOfEachOther() async throws {
        let f = try await StaffFixture()
        let key = try await f.key("org-1", .orgAdmin)
        let token = f.booking.token()
        let task = try await f.taskID("p1")
        // The public surface: no task API, no audit, no sign-in, no metrics, whatever the credentials.
        try await f.booking.test { client async throws in
            for path in ["/tasks", "/audit", "/session", "/metrics"] {
                #expect(try await client.staffGet(path, key: key).status == .notFound, "\(path)")
            }
            #expect(try await client.resolve(task, "declined", key: key).status == .notFound)
            #expect(
                try await client.staffPost("/signin", key: nil, contentType: "application/x-www-form-urlencoded", body: "").status
                    == .notFound)
            #expect(try await client.get("/book/\(token)").status == .ok)
        }
        // The staff surface: no booking pages.
        try await f.test { client async throws in
            #expect(try await client.get("/book/\(token)").status == .notFound)
            #expect(try await client.postForm("/book/\(token)", "reservation_id=\(f.booking.holds[0])").status == .notFound)
        }
        #expect(try await f.booking.count("SELECT count(*) FROM coordinator_tasks WHERE status = 'open'") == 2)
        await f.pool.close()
    }
}
