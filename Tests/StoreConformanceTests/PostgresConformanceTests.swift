import Foundation
import Logging
import PostgresNIO
import Testing
import TollgatePostgres
import TollgateStoreConformance

/// The same suites against the PostgreSQL adapters, on the server `scripts/test` starts
/// (`TOLLGATE_TEST_POSTGRES=host:port:user`): a new database per store, a restart is a new
/// connection pool on it.
/// The test server, from the environment.
enum TestPostgres {
    static let server: (host: String, port: Int, user: String)? = {
        let parts = (ProcessInfo.processInfo.environment["TOLLGATE_TEST_POSTGRES"] ?? "").split(separator: ":")
        guard parts.count == 3, let port = Int(parts[1]) else { return nil }
        return (String(parts[0]), port, String(parts[2]))
    }()
}

@Suite(.enabled(if: TestPostgres.server != nil, "TOLLGATE_TEST_POSTGRES is not set"))
struct PostgresConformanceTests {

    static func configuration(database: String) -> PostgresClient.Configuration {
        let s = TestPostgres.server!
        return PostgresClient.Configuration(
            host: s.host, port: s.port, username: s.user, password: nil, database: database, tls: .disable)
    }

    /// A new, empty database.
    static func newDatabase() async throws -> String {
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let admin = PostgresClient(configuration: configuration(database: "postgres"))
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await admin.run() }
            try await admin.query("CREATE DATABASE \(unescaped: name)")
            group.cancelAll()
        }
        return name
    }

    let engine = Engine<PostgresStore> {
        let database = try await PostgresConformanceTests.newDatabase()
        let open: @Sendable () async throws -> PostgresStore = {
            try await PostgresStore(
                configuration: PostgresConformanceTests.configuration(database: database), logger: Logger(label: "pg"))
        }
        return (try await open(), open)
    }

    @Test func users() async throws { try await UserStoreConformance(engine).runAll() }
    @Test func keys() async throws { try await KeyStoreConformance(engine).runAll() }
    @Test func secretTokens() async throws { try await SecretTokenStoreConformance(engine).runAll() }
    @Test func upstreamSecrets() async throws { try await UpstreamSecretStoreConformance(engine).runAll() }
    @Test func usageLedger() async throws { try await UsageLedgerStoreConformance(engine).runAll() }
    @Test func limitWindows() async throws { try await LimitWindowStoreConformance(engine).runAll() }
    @Test func userSettings() async throws { try await UserSettingsStoreConformance(engine).runAll() }
    @Test func sharedLimits() async throws { try await SharedLimitStoreConformance(engine).runAll() }
    @Test func auditLog() async throws { try await AuditLogStoreConformance(engine).runAll() }
    @Test func cacheEvictions() async throws { try await CacheEvictionStoreConformance(engine).runAll() }
}
