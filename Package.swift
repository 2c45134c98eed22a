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
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
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
            dependencies: [.product(name: "Yams", package: "Yams"), .product(name: "Crypto", package: "swift-crypto")],
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
        .target(
            name: "PlanRouterWorkers",
            dependencies: [
                "PlanRouterKafka", "PlanRouterPostgres", "PlanRouterStore", "PlanRouterCore", "PlanRouterTelemetry",
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
            ],
            swiftSettings: strict
        ),
        .target(
            name: "PlanRouterBooking",
            dependencies: [
                "PlanRouterPostgres", "PlanRouterStore", "PlanRouterCore", "PlanRouterTelemetry",
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
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "planrouter",
            dependencies: [
                "PlanRouterBooking", "PlanRouterWorkers", "PlanRouterKafka", "PlanRouterPostgres", "PlanRouterStore", "PlanRouterCore",
                "PlanRouterSimulation", "PlanRouterTelemetry", "PlanRouterConnectors", "PlanRouterEmulators",
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
            dependencies: ["PlanRouterCore"],
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
            dependencies: ["PlanRouterWorkers", "PlanRouterKafka"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PlanRouterConnectorsTests",
            dependencies: ["PlanRouterConnectors", "PlanRouterEmulators", "PlanRouterCore"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PlanRouterBookingTests",
            dependencies: ["PlanRouterBooking", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        // The `planrouter` executable, run as a process: CLI errors, and deploy/ checked against its --help.
        .testTarget(
            name: "PlanRouterCLITests",
            dependencies: ["PlanRouterCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PlanRouterIntegrationTests",
            dependencies: [
                "PlanRouterKafka", "PlanRouterPostgres", "PlanRouterStore", "PlanRouterCore", "PlanRouterWorkers", "PlanRouterBooking",
                "PlanRouterTelemetry", "PlanRouterConnectors", "PlanRouterEmulators",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
    ]
)
