import Foundation
import CoreMetrics
import Logging
import PostgresNIO

/// Tollgate's shared state in one PostgreSQL database (postgres-nio's connection pool), for
/// several nodes: one extension file per port (`PostgresStore+<Port>.swift`), the schema and its
/// migrations in `PostgresMigrations.swift`. Text sorts bytewise (`COLLATE "C"`), as in SQLite.
public final class PostgresStore: Sendable {
    /// The pool, behind a deadline (`GuardedClient`).
    let client: GuardedClient
    let logger: Logger

    /// Connects (the pool runs until `shutdown`) and migrates the schema under an advisory lock,
    /// so nodes starting together don't race.
    public init(configuration: PostgresClient.Configuration, logger: Logger, metrics: (any MetricsFactory)? = nil) async throws {
        // The pool's own chatter (connection attempts, a lease asked for just before `run` starts)
        // stays out of the log: what fails reaches the caller of the query.
        var background = logger
        background.logLevel = max(logger.logLevel, .error)
        let client = GuardedClient(configuration: configuration, backgroundLogger: background, metrics: metrics)
        self.client = client
        self.logger = logger
        do {
            try await PostgresMigrations.migrate(client, logger: logger)
        } catch {
            client.shutdown()
            throw error
        }
    }

    /// Closes the pool's connections.
    public func shutdown() { client.shutdown() }

    deinit { client.shutdown() }

    /// Bumps the version a running server polls (`UserSettingsStore.settingsVersion`), inside the
    /// transaction of the change that calls for it.
    static func bumpSettingsVersion(_ connection: PostgresConnection, _ logger: Logger) async throws {
        try await connection.query("UPDATE settings_version SET version = version + 1 WHERE id = 1", logger: logger)
    }

    /// How many rows a statement with `RETURNING 1` touched.
    static func count(_ rows: PostgresRowSequence) async throws -> Int {
        var n = 0
        for try await _ in rows { n += 1 }
        return n
    }
}
