import Foundation
import PlanRouterCore
import Yams

/// `planrouter connector opendental --offices FILE`: the offices one connector process
/// serves (YAML or JSON). Keys are secrets: the file names environment variables that hold
/// them (`customer_key_env`), or carries them inline only for local runs.
///
/// ```yaml
/// organization_id: org-1
/// base_url: https://api.opendental.com/api/v1
/// offices:
///   - id: office-12                      # our name for the office: events' source is opendental/office-12
///     customer_key_env: OD_CUSTOMER_KEY_OFFICE_12
///     time_zone: America/New_York
///     clinics: { "0": loc-12 }           # ClinicNum -> location_id ("0": no clinics)
///     default_location: loc-12           # any other ClinicNum
///     poll_seconds: 60                   # plans and appointments
///     reference_seconds: 900             # schedules, providers, operatories
/// ```
public struct OpenDentalConfiguration: Sendable, Decodable {
    public struct Office: Sendable, Decodable {
        public var id: String
        public var organizationID: String?
        public var customerKey: String?
        public var customerKeyEnv: String?
        public var timeZone: String
        public var clinics: [String: String]?
        public var defaultLocation: String?
        /// Fractions allowed (0.2 at least): the emulator and the simulation poll faster than any real office should.
        public var pollSeconds: Double?
        public var referenceSeconds: Double?
        /// Days of schedule mirrored ahead (default 28).
        public var scheduleDays: Int?
        /// How far back the first poll reaches (default 30 days).
        public var initialLookbackDays: Int?
        /// The DefNum of the office's "PlanRouter hold" blockout definition: holds are shown as blockouts of it.
        public var holdBlockoutType: Int64?

        enum CodingKeys: String, CodingKey {
            case id, clinics
            case organizationID = "organization_id"
            case customerKey = "customer_key"
            case customerKeyEnv = "customer_key_env"
            case timeZone = "time_zone"
            case defaultLocation = "default_location"
            case pollSeconds = "poll_seconds"
            case referenceSeconds = "reference_seconds"
            case scheduleDays = "schedule_days"
            case initialLookbackDays = "initial_lookback_days"
            case holdBlockoutType = "hold_blockout_type"
        }
    }

    public var organizationID: String
    public var baseURL: String?
    public var offices: [Office]

    enum CodingKeys: String, CodingKey {
        case offices
        case organizationID = "organization_id"
        case baseURL = "base_url"
    }

    public static let defaultBaseURL = "https://api.opendental.com/api/v1"

    public static func load(_ text: String) throws -> OpenDentalConfiguration {
        try YAMLDecoder().decode(OpenDentalConfiguration.self, from: text)
    }

    /// The offices resolved against the environment (keys) and checked.
    public func resolved(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [OpenDentalOffice] {
        var seen = Set<String>()
        return try offices.map { o in
            guard seen.insert(o.id).inserted else { throw ConfigurationError("office \(o.id) is listed twice") }
            guard let zone = TimeZone(identifier: o.timeZone) else {
                throw ConfigurationError("office \(o.id): unknown time_zone \(o.timeZone)")
            }
            guard let key = o.customerKey ?? o.customerKeyEnv.flatMap({ environment[$0] }), !key.isEmpty else {
                throw ConfigurationError("office \(o.id): no customer key (set customer_key_env to a variable that holds it)")
            }
            let clinics = try (o.clinics ?? [:]).reduce(into: [Int64: String]()) { out, e in
                guard let n = Int64(e.key) else { throw ConfigurationError("office \(o.id): clinic \(e.key) is not a ClinicNum") }
                out[n] = e.value
            }
            guard !clinics.isEmpty || o.defaultLocation != nil else {
                throw ConfigurationError("office \(o.id): map at least one clinic to a location (clinics or default_location)")
            }
            let poll = o.pollSeconds ?? 60
            let reference = o.referenceSeconds ?? 900
            guard poll >= 0.2, reference >= 0.2 else { throw ConfigurationError("office \(o.id): cadences must be at least 0.2 s") }
            return OpenDentalOffice(
                id: o.id, organizationID: o.organizationID ?? organizationID, customerKey: key, timeZone: zone, clinics: clinics,
                defaultLocation: o.defaultLocation, pollInterval: .seconds(poll), referenceInterval: .seconds(reference),
                scheduleDays: o.scheduleDays ?? 28, initialLookbackDays: o.initialLookbackDays ?? 30, holdBlockoutType: o.holdBlockoutType)
        }
    }
}

/// One office as the connector serves it.
public struct OpenDentalOffice: Sendable, Hashable {
    public var id: String
    public var organizationID: String
    public var customerKey: String
    public var timeZone: TimeZone
    /// ClinicNum -> location_id.
    public var clinics: [Int64: String]
    public var defaultLocation: String?
    public var pollInterval: Duration
    public var referenceInterval: Duration
    public var scheduleDays: Int
    public var initialLookbackDays: Int
    /// The "PlanRouter hold" blockout definition (DefNum); nil: holds are not shown in Open Dental.
    public var holdBlockoutType: Int64?

    public init(
        id: String, organizationID: String, customerKey: String, timeZone: TimeZone, clinics: [Int64: String],
        defaultLocation: String? = nil,
        pollInterval: Duration = .seconds(60), referenceInterval: Duration = .seconds(900), scheduleDays: Int = 28,
        initialLookbackDays: Int = 30, holdBlockoutType: Int64? = nil
    ) {
        self.holdBlockoutType = holdBlockoutType
        self.id = id
        self.organizationID = organizationID
        self.customerKey = customerKey
        self.timeZone = timeZone
        self.clinics = clinics
        self.defaultLocation = defaultLocation
        self.pollInterval = pollInterval
        self.referenceInterval = referenceInterval
        self.scheduleDays = scheduleDays
        self.initialLookbackDays = initialLookbackDays
    }

    /// The location of a record's ClinicNum, nil when the office does not map it.
    public func location(clinic: Int64) -> String? { clinics[clinic] ?? defaultLocation }

    /// Every location this office serves.
    public var locations: Set<String> { Set(clinics.values).union(defaultLocation.map { [$0] } ?? []) }

    /// The CloudEvents `source` of the office's events.
    public var source: String { "opendental/\(id)" }

    // Our ids for the office's records: PMS numbers are unique only inside one office database.
    public func patientID(_ n: Int64) -> String { "\(id)-pat-\(n)" }
    public func providerID(_ n: Int64) -> String { "\(id)-prov-\(n)" }
    public func operatoryID(_ n: Int64) -> String { "\(id)-op-\(n)" }
    public func appointmentID(_ n: Int64) -> String { "\(id)-apt-\(n)" }
    public func planID(_ n: Int64) -> String { "\(id)-tp-\(n)" }

    /// The PMS number inside one of our ids (`office-12-pat-1897` -> 1897), nil if it is another office's.
    public func number(in ourID: String, kind: String) -> Int64? {
        let prefix = "\(id)-\(kind)-"
        guard ourID.hasPrefix(prefix) else { return nil }
        return Int64(ourID.dropFirst(prefix.count))
    }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
