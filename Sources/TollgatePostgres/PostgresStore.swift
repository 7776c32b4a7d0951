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
        try await notify(connection, .settings, logger)
    }

    /// What changed, as `NOTIFY` tells the nodes (`listenForChanges`).
    public enum Change: String, Sendable {
        case users
        case settings
    }
    static let changesChannel = "tollgate_changes"

    /// Tells every listening node, when the transaction commits.
    static func notify(_ connection: PostgresConnection, _ change: Change, _ logger: Logger) async throws {
        try await connection.query("SELECT pg_notify(\(changesChannel), \(change.rawValue))", logger: logger)
    }

    /// Calls `onChange` for every change another process commits (users added, removed, changed;
    /// settings, upstream logins, removals), until cancelled; after a lost connection it listens
    /// again a second later. The version polls stay the backstop for what is missed meanwhile.
    public func listenForChanges(_ onChange: @escaping @Sendable (Change) async -> Void) async {
        while !Task.isCancelled {
            do {
                try await client.pool.withConnection { connection in
                    try await connection.listen(on: Self.changesChannel) { notifications in
                        for try await n in notifications {
                            if let change = Change(rawValue: n.payload) { await onChange(change) }
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// How many rows a statement with `RETURNING 1` touched.
    static func count(_ rows: PostgresRowSequence) async throws -> Int {
        var n = 0
        for try await _ in rows { n += 1 }
        return n
    }
}
