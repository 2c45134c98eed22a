// swift-tools-version:6.2
import PackageDescription

// Our own targets (and their tests) build with warnings as errors; C modules are not API.
let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
    name: "planrouter",
    // macOS 15 for the standard library's Synchronization.Mutex, the one lock of the code base.
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "planrouter", targets: ["planrouter"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Provider adapters of the notify worker: Twilio over HTTPS, SMTP with STARTTLS (already in the graph through Hummingbird's testing).
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        // The coordinator's workspace pages: server-rendered Mustache templates (escaped by default).
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        // C libraries: only PlanRouterKafka imports CRdKafka, only PlanRouterPostgres imports CLibPQ.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(
            name: "PlanRouterKafka",
            dependencies: ["CRdKafka", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "PlanRouterPostgres",
            dependencies: ["CLibPQ", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "PlanRouterCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"), .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            resources: [.copy("Schemas"), .copy("DefaultRules")],
            swiftSettings: strict
        ),
        .target(
            name: "PlanRouterStore",
            dependencies: [
                "PlanRouterPostgres", "PlanRouterCore",
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Migrations")],
            swiftSettings: strict
        ),
        // Metrics shared by the workers and the booking service (no SQL, no Kafka).
        .target(
            name: "PlanRouterTelemetry",
            dependencies: [
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        // The notify worker's channel adapters: Twilio's Messages API (HTTP) and SMTP (NIO, STARTTLS).
        .target(
            name: "PlanRouterMessaging",
            dependencies: [
                "PlanRouterCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        // Local stand-ins for providers that cannot be reached from here (`planrouter dev-comms`):
        // linked into the CLI's dev command and the tests only, never into a worker's code path.
        .target(
            name: "PlanRouterDevComms",
            dependencies: [
                "PlanRouterCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "PlanRouterWorkers",
            dependencies: [
                "PlanRouterKafka", "PlanRouterPostgres", "PlanRouterStore", "PlanRouterCore", "PlanRouterTelemetry", "PlanRouterMessaging",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "PlanRouterSimulation",
            dependencies: [
                "PlanRouterKafka", "PlanRouterPostgres", "PlanRouterStore", "PlanRouterCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // What both HTTP surfaces share: connection limits, body limits, media types, responses.
        .target(
            name: "PlanRouterHTTP",
            dependencies: [
                "PlanRouterCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The staff surface: credentials, roles, the task API, the audit record (its own port).
        .target(
            name: "PlanRouterStaff",
            dependencies: [
                "PlanRouterBooking", "PlanRouterHTTP", "PlanRouterPostgres", "PlanRouterStore", "PlanRouterCore", "PlanRouterTelemetry",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "PlanRouterBooking",
            dependencies: [
                "PlanRouterHTTP", "PlanRouterPostgres", "PlanRouterStore", "PlanRouterCore", "PlanRouterTelemetry",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // PMS connectors (worker kind `connector`): Open Dental polling and write-back.
        .target(
            name: "PlanRouterConnectors",
            dependencies: [
                "PlanRouterWorkers", "PlanRouterPostgres", "PlanRouterStore", "PlanRouterCore", "PlanRouterTelemetry",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        // Local stand-ins of outside services (`planrouter dev-pms`): linked into the CLI's dev commands and tests only.
        .target(
            name: "PlanRouterEmulators",
            dependencies: [
                "PlanRouterCore",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "planrouter",
            dependencies: [
                "PlanRouterBooking", "PlanRouterStaff", "PlanRouterHTTP", "PlanRouterWorkers", "PlanRouterKafka", "PlanRouterPostgres",
                "PlanRouterStore", "PlanRouterCore", "PlanRouterSimulation", "PlanRouterTelemetry", "PlanRouterMessaging",
                "PlanRouterDevComms", "PlanRouterConnectors", "PlanRouterEmulators",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        // Unit targets mirror the modules and need no service (`scripts/test --unit`); the
        // integration target needs PostgreSQL and a broker (`scripts/test`).
        .testTarget(
            name: "PlanRouterCoreTests",
            dependencies: [
                "PlanRouterCore", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PlanRouterKafkaTests",
            dependencies: ["PlanRouterKafka", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PlanRouterPostgresTests",
            dependencies: ["PlanRouterPostgres", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PlanRouterWorkersTests",
            dependencies: ["PlanRouterWorkers", "PlanRouterKafka", "PlanRouterMessaging"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PlanRouterSimulationTests",
            dependencies: ["PlanRouterSimulation"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PlanRouterConnectorsTests",
            dependencies: ["PlanRouterConnectors", "PlanRouterEmulators", "PlanRouterCore"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PlanRouterBookingTests",
            dependencies: [
                "PlanRouterBooking", "PlanRouterStaff", "PlanRouterHTTP", .product(name: "Yams", package: "Yams"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
        // The `planrouter` executable, run as a process: CLI errors, and deploy/ checked against its --help.
        // What the tests that run the `planrouter` binary share (no Testing, no services).
        .target(
            name: "PlanRouterTestSupport",
            path: "Tests/PlanRouterTestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "PlanRouterCLITests",
            dependencies: ["PlanRouterCore", "PlanRouterTestSupport", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PlanRouterIntegrationTests",
            dependencies: [
                "PlanRouterKafka", "PlanRouterPostgres", "PlanRouterStore", "PlanRouterCore", "PlanRouterWorkers", "PlanRouterBooking",
                "PlanRouterStaff", "PlanRouterHTTP", "PlanRouterTelemetry", "PlanRouterMessaging", "PlanRouterDevComms",
                "PlanRouterConnectors", "PlanRouterEmulators", "PlanRouterSimulation", "PlanRouterTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
    ]
)
