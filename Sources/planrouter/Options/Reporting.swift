import ArgumentParser
import Foundation
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres

/// Runs a command body and turns every failure into one actionable line on stderr
/// and exit status 1: no stack traces, no hangs.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let e as ExitCode {
        throw e
    } catch let e as CleanExit {
        throw e
    } catch {
        // One line: libpq and librdkafka messages may carry their own line breaks.
        let text = error is RulesValidationError ? describe(error) : oneLine(describe(error))
        FileHandle.standardError.write(Data(("planrouter: error: " + text + "\n").utf8))
        throw ExitCode.failure
    }
}

func oneLine(_ s: String) -> String {
    s.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: " ")
}

func describe(_ error: any Error) -> String {
    switch error {
    case let e as PostgresError where e.code == .connectionFailed && e.message.hasPrefix("invalid "):
        // libpq checks some settings (sslmode, port ...) only when connecting.
        return "invalid database URL: \(e.message)"
    case let e as PostgresError where e.code == .connectionFailed:
        return "cannot connect to PostgreSQL: \(e.message) (check PLANROUTER_DATABASE_URL; scripts/services up starts a local one)"
    case let e as PostgresError where e.code == .invalidConfiguration:
        return "invalid database URL: \(e.message)"
    case let e as PostgresError: return "PostgreSQL: \(e)"
    case let e as KafkaError: return "Kafka: \(e)"
    case let e as RulesValidationError: return "invalid rules:\n" + e.description
    default: return "\(error)"
    }
}
