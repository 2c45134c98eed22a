import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// One staff action, as recorded.
public struct StaffAuditEntry: Sendable {
    public var principal: StaffPrincipal
    public var action: String
    public var planID: String?
    public var taskPublicID: UUID?
    public var stateBefore: String?
    public var stateAfter: String?
    public var requestID: String
    public var detail: JSONValue

    public init(
        principal: StaffPrincipal, action: String, planID: String?, taskPublicID: UUID?, stateBefore: String?, stateAfter: String?,
        requestID: String, detail: JSONValue = .object([:])
    ) {
        self.principal = principal
        self.action = action
        self.planID = planID
        self.taskPublicID = taskPublicID
        self.stateBefore = stateBefore
        self.stateAfter = stateAfter
        self.requestID = requestID
        self.detail = detail
    }
}

/// `staff_audit`: append-only (a trigger refuses UPDATE, DELETE and TRUNCATE).
public enum StaffAuditRepository {
    /// Records the action in the caller's transaction, so it exists exactly when the action does.
    public static func append(_ e: StaffAuditEntry, now: Date, in tx: PostgresConnection) async throws {
        _ = try await tx.execute(
            """
            INSERT INTO staff_audit (organization_id, actor, actor_role, at, action, plan_id, task_public_id, state_before, state_after,
                                     request_id, detail)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            """,
            binds: [
                e.principal.organizationID, e.principal.actor, e.principal.role.rawValue, now, e.action, e.planID, e.taskPublicID,
                e.stateBefore, e.stateAfter, e.requestID, PostgresJSON(e.detail.serialized()),
            ])
    }

    /// The organization's most recent entries (newest first), as JSON.
    public static func recent(organizationID: String, limit: Int, on conn: PostgresConnection) async throws -> [JSONValue] {
        try await conn.query(
            """
            SELECT actor, actor_role, at, action, plan_id, task_public_id, state_before, state_after, request_id, detail
            FROM staff_audit WHERE organization_id = $1 ORDER BY at DESC, id DESC LIMIT $2
            """, binds: [organizationID, Int64(limit)]
        ).map { r in
            var o: JSONObject = [
                "actor": .string(try r.decode(0, as: String.self)), "actor_role": .string(try r.decode(1, as: String.self)),
                "at": .string(RFC3339.format(try r.decode(2, as: Date.self))), "action": .string(try r.decode(3, as: String.self)),
            ]
            o["plan_id"] = try r.decode(4, as: String?.self).map(JSONValue.string) ?? .null
            o["task_id"] = try r.decode(5, as: UUID?.self).map { .string($0.uuidString.lowercased()) } ?? .null
            o["state_before"] = try r.decode(6, as: String?.self).map(JSONValue.string) ?? .null
            o["state_after"] = try r.decode(7, as: String?.self).map(JSONValue.string) ?? .null
            o["request_id"] = .string(try r.decode(8, as: String.self))
            o["detail"] = (try? JSONParser.parse(try r.decode(9, as: PostgresJSON.self).text)) ?? .object([:])
            return .object(o)
        }
    }
}
