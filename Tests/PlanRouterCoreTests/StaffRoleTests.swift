import Foundation
import PlanRouterCore
import Testing

@Suite struct StaffRoleTests {
    @Test func everyRoleWorksTasksAndOnlyManagersAndAdminsReadTheAudit() {
        for role in StaffRole.allCases {
            #expect(role.allows(.listTasks) && role.allows(.resolveTask), "\(role)")
        }
        #expect(!StaffRole.coordinator.allows(.readAudit))
        #expect(StaffRole.locationManager.allows(.readAudit) && StaffRole.orgAdmin.allows(.readAudit))
        #expect(StaffRole.allCases.filter { $0.allows(.manageAccess) } == [.orgAdmin])
    }

    @Test func aPrincipalSeesOnlyItsOrganizationAndLocations() {
        let all = StaffPrincipal(kind: .apiKey, id: "k1", organizationID: "org-1", role: .coordinator, locations: nil)
        #expect(all.sees(organization: "org-1", location: "loc-12"))
        #expect(!all.sees(organization: "org-2", location: "loc-12"))
        let one = StaffPrincipal(kind: .user, id: "u1", organizationID: "org-1", role: .coordinator, locations: ["loc-99"])
        #expect(one.sees(organization: "org-1", location: "loc-99"))
        #expect(!one.sees(organization: "org-1", location: "loc-12"))
        #expect(!one.sees(organization: "org-2", location: "loc-99"))
        #expect(one.actor == "user:u1" && all.actor == "key:k1")
    }

    @Test func secretsAreRandomRecognisableAndStoredOnlyAsTheirHash() {
        let a = StaffSecret.generate(.apiKey)
        let b = StaffSecret.generate(.apiKey)
        #expect(a != b)
        #expect(a.text.hasPrefix("prk_") && a.text.count == 47)
        #expect(a.looks(like: .apiKey) && !a.looks(like: .session))
        #expect(StaffSecret.generate(.session).looks(like: .session))
        #expect(!StaffSecret(text: "prk_short").looks(like: .apiKey))
        #expect(!StaffSecret(text: "prk_" + String(repeating: "!", count: 43)).looks(like: .apiKey))
        #expect(a.sha256.count == 32 && a.sha256 != b.sha256)
        #expect(a.sha256 == StaffSecret(text: a.text).sha256)
    }

    @Test func csrfTokensCompareInFull() {
        let t = StaffSecret.csrfToken()
        #expect(t.count == 32 && t != StaffSecret.csrfToken())
        #expect(StaffSecret.constantTimeEquals(t, t))
        #expect(!StaffSecret.constantTimeEquals(t, String(t.dropLast()) + (t.hasSuffix("A") ? "B" : "A")))
        #expect(!StaffSecret.constantTimeEquals(t, String(t.dropLast())))
        #expect(!StaffSecret.constantTimeEquals(t, ""))
    }
}
