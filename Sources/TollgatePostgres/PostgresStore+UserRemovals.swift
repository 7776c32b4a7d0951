import Foundation
import PostgresNIO
import RegistryCore
import TollgateAdmin
import TollgateLimits

/// The shared half of a removal: what the database holds of the user. Each node's own half (its
/// cache index's links, tags and referrers of the user's audience) is erased by that node when it
/// sees the removal (`eraseUserActivity` on its local store); see `ClusterMetadata`.
extension PostgresStore: UserRemovalStore {
    /// In one transaction.
    public func eraseUser(_ user: UserName, removed: Date?) async throws {
        try await client.withTransaction(logger: logger) { [logger] c in
            try await Self.deleteActivity(c, user: user, logger)
            for table in ["secret_tokens", "upstream_secrets", "user_settings"] {
                try await c.query("DELETE FROM \(unescaped: table) WHERE user_name = \(user.value)", logger: logger)
            }
            var version: Int64 = 0
            for try await v in try await c.query(
                "UPDATE settings_version SET version = version + 1 WHERE id = 1 RETURNING version", logger: logger
            ).decode(Int64.self) { version = v }
            try await Self.notify(c, .settings, logger)
            try await c.query(
                """
                INSERT INTO user_removals (version, user_name, removed_at)
                VALUES (\(version), \(user.value), \(removed?.timeIntervalSince1970))
                """, logger: logger)
        }
    }

    public func eraseUserActivity(_ user: UserName) async throws {
        try await client.withTransaction(logger: logger) { [logger] c in try await Self.deleteActivity(c, user: user, logger) }
    }

    public func userRemovals(after version: Int64) async throws -> [UserRemovalRecord] {
        try await removals(
            client.query(
                "SELECT user_name, removed_at FROM user_removals WHERE version > \(version) ORDER BY version",
                logger: logger))
    }

    public func userRemovals(since: Date) async throws -> [UserRemovalRecord] {
        try await removals(
            client.query(
                """
                SELECT user_name, removed_at FROM user_removals WHERE removed_at >= \(since.timeIntervalSince1970)
                ORDER BY version
                """, logger: logger))
    }

    private func removals(_ rows: PostgresRowSequence) async throws -> [UserRemovalRecord] {
        var result: [UserRemovalRecord] = []
        for try await (name, removed) in rows.decode((String, Double?).self) {
            guard let user = UserName(name) else { continue }
            result.append(UserRemovalRecord(user: user, removed: removed.map { Date(timeIntervalSince1970: $0) }))
        }
        return result
    }

    /// What a user's requests write to the database: usage, limit windows and request buckets.
    private static func deleteActivity(_ c: PostgresConnection, user: UserName, _ logger: Logger) async throws {
        try await c.query("DELETE FROM usage_daily WHERE user_name = \(user.value)", logger: logger)
        let subject = Principal.user(user).description
        try await c.query("DELETE FROM limit_windows WHERE subject = \(subject)", logger: logger)
        try await c.query("DELETE FROM request_buckets WHERE subject = \(subject)", logger: logger)
    }
}
