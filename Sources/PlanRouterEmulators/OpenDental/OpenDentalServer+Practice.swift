import Foundation
import Hummingbird
import PlanRouterCore

/// The emulator-admin routes the simulation drives the emulated practice through
/// (`planrouter simulate --pms opendental`, docs/simulation.md). Emulator-only, under
/// `/_emulator`; the production connector never calls them.
extension OpenDentalServer {
    static func addPracticeRoutes(_ router: Router<BasicRequestContext>, _ emulator: OpenDentalEmulator) {
        // The office server's clock: the simulation pins it to the simulated clock, so every edit
        // is stamped (SecDateTEdit, DateTStamp, DateTSigned) with simulated office time.
        router.post("/_emulator/clock") { request, _ in
            let json = try await body(request)
            guard let now = json["now"]?.stringValue.flatMap(RFC3339.parse) else {
                return response(.error(400, "now (RFC 3339) is required"))
            }
            emulator.setNow(now)
            return response(.json(204, .null))
        }
        // Adds an office (a customer key with its time zone) unless it exists.
        router.post("/_emulator/offices") { request, _ in
            let json = try await body(request)
            guard let key = json["customer_key"]?.stringValue, let zone = json["time_zone"]?.stringValue.flatMap(TimeZone.init(identifier:))
            else { return response(.error(400, "customer_key and a known time_zone are required")) }
            if emulator.office(key) == nil { emulator.addOffice(customerKey: key, timeZone: zone) }
            return response(.json(204, .null))
        }
        router.post("/_emulator/offices/:key/practice") { request, context in
            // A month's calendar of existing appointments is one request of a few megabytes.
            let bytes = try await request.body.collect(upTo: 1 << 26)
            guard let key = context.parameters.get("key"),
                let actions = (try? JSONParser.parse(Array(buffer: bytes)))?["actions"]?.arrayValue
            else { return response(.error(400, "{\"actions\": [...]} is required")) }
            do {
                return response(.json(200, .object(["results": .array(try emulator.practice(key, actions: actions))])))
            } catch {
                return response(.error(400, "\(error)"))
            }
        }
        router.get("/_emulator/offices/:key/summary") { request, context in
            let q = request.uri.queryParameters
            guard let key = context.parameters.get("key"),
                let s = emulator.summary(
                    key, bookingMarker: q["booking_marker"].map(String.init) ?? "PlanRouter booking ",
                    holdMarker: q["hold_marker"].map(String.init) ?? "PlanRouter hold ")
            else { return response(.error(404, "no office")) }
            return response(.json(200, s))
        }
    }
}
