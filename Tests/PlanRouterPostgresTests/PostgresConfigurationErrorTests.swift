import Logging
import PlanRouterPostgres
import Testing

/// Errors that need no server: malformed settings, a port nobody listens on, codes.
@Suite("Postgres configuration errors")
struct PostgresConfigurationErrorTests {
    static let logger = Logger(label: "planrouter.tests.postgres")

    @Test(arguments: [
        "postgresql://planrouter:s3cr3t%zz@127.0.0.1:55432/postgres",
        "postgresql://planrouter:s3cr3t@[::1:55432/postgres",
        "host=127.0.0.1 port",
        "postgresql://planrouter@127.0.0.1:55432/postgres?nosuchoption=1",
    ])
    func malformedConninfoIsInvalidConfiguration(conninfo: String) async throws {
        let error = try await #require(throws: PostgresError.self) {
            _ = try await PostgresConnection.connect(conninfo, logger: Self.logger)
        }
        #expect(error.code == .invalidConfiguration)
        #expect(!error.isRetriable)
        #expect(!error.message.isEmpty)
        #expect(!error.description.contains("s3cr3t"))
        #expect(!error.debugDescription.contains("s3cr3t"))
    }

    @Test func unreachableServerIsConnectionFailed() async throws {
        let error = try await #require(throws: PostgresError.self) {
            _ = try await PostgresConnection.connect(
                "postgresql://planrouter:s3cr3t@127.0.0.1:1/postgres?connect_timeout=2", logger: Self.logger)
        }
        #expect(error.code == .connectionFailed)
        #expect(error.isRetriable)
        #expect(!error.description.contains("s3cr3t"))
    }

    @Test func malformedConninfoFailsAtFirstUse() async throws {
        let pool = PostgresPool(conninfo: "postgresql://[::1", logger: Self.logger)
        let error = try await #require(throws: PostgresError.self) {
            try await pool.withConnection { _ in 1 }
        }
        #expect(error.code == .invalidConfiguration)
        await pool.close()
    }

    @Test func codesDescribeThemselves() {
        #expect(PostgresError.Code.poolClosed.description == "poolClosed")
        let error = PostgresError(code: .timeout, message: "slow")
        #expect(error.description == "timeout: slow")
        #expect(PostgresError(code: .server, sqlState: "55P03", message: "x").isRetriable)
        #expect(PostgresError(code: .server, sqlState: "08006", message: "x").isRetriable)
        #expect(!PostgresError(code: .server, sqlState: "42P01", message: "x").isRetriable)
    }
}
