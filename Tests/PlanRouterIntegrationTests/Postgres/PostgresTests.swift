import Testing

/// Groups every PostgreSQL integration suite so `swift test --filter PostgresTests` selects
/// them all; each nested suite lives in `PostgresTests+<Feature>.swift`.
@Suite("Postgres")
struct PostgresTests {}
