/// One procedure of a plan (`procedures[]` of `plan.accepted` and `plan.changed`).
public struct PlanProcedure: JSONObjectCoding {
    /// `code_system`; nil when absent, which means CDT.
    public var system: CodeSystem?
    /// A CDT code (`D6010`) or, with `system == .service`, the practice's own service code.
    public var code: String
    public var description: String
    /// The PMS's tooth notation (`30`, `#30`, `UR`).
    public var tooth: String?
    /// Surfaces, e.g. `MOD`.
    public var surface: String?
    public var feeCents: Int64
    /// The PMS's own chair time; wins over the rules' defaults.
    public var minutes: Int?
    public var role: ProviderRole?

    public init(
        system: CodeSystem? = nil, code: String, description: String, tooth: String? = nil, surface: String? = nil, feeCents: Int64,
        minutes: Int? = nil, role: ProviderRole? = nil
    ) {
        self.system = system
        self.code = code
        self.description = description
        self.tooth = tooth
        self.surface = surface
        self.feeCents = feeCents
        self.minutes = minutes
        self.role = role
    }

    public var isCDT: Bool { (system ?? .cdt) == .cdt }

    public init(_ r: JSONReader) throws(EventRejection) {
        system = try r.optionalString("code_system", as: CodeSystem.self)
        code = try r.string("code")
        description = try r.string("description")
        tooth = try r.optionalString("tooth")
        surface = try r.optionalString("surface")
        feeCents = try r.int64("fee_cents")
        minutes = try r.optionalInt("minutes")
        role = try r.optionalString("provider_role", as: ProviderRole.self)
    }

    public var json: JSONValue {
        var b = JSONObjectBuilder()
        b.set("code_system", system)
        b.set("code", code)
        b.set("description", description)
        b.set("tooth", tooth)
        b.set("surface", surface)
        b.set("fee_cents", feeCents)
        b.set("minutes", minutes)
        b.set("provider_role", role)
        return b.value
    }
}
