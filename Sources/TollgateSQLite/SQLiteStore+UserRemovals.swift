import Foundation
import GRDB
import RegistryCore
import TollgateAdmin
import TollgateLimits

extension SQLiteStore: UserRemovalStore {
    /// In one transaction.
    public func eraseUser(_ user: UserName, removed: Date?) async throws {
        try await pool.write { db in
            try Self.deleteActivity(db, user: user)
            for table in ["credentials", "upstream_credentials", "user_settings"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE user = ?", arguments: [user.value])
            }
            try db.execute(sql: "UPDATE settings_version SET version = version + 1 WHERE id = 1")
            let version = try Int64.fetchOne(db, sql: "SELECT version FROM settings_version WHERE id = 1") ?? 0
            try db.execute(
                sql: "INSERT OR IGNORE INTO user_removals (version, user, removed_at) VALUES (?, ?, ?)",
                arguments: [version, user.value, removed?.timeIntervalSince1970])
        }
    }

    /// Users removed (or cleared for a new user: `removed` nil) after settings version `after`.
    public func userRemovals(after version: Int64) async throws -> [UserRemovalRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT user, removed_at FROM user_removals WHERE version > ? ORDER BY version",
                arguments: [version]
            ).compactMap { row in
                let removed: Double? = row["removed_at"]
                return UserName(row["user"]).map { UserRemovalRecord(user: $0, removed: removed.map { Date(timeIntervalSince1970: $0) }) }
            }
        }
    }

    /// Users removed since `since`, with when.
    public func userRemovals(since: Date) async throws -> [UserRemovalRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT user, removed_at FROM user_removals WHERE removed_at >= ? ORDER BY version",
                arguments: [since.timeIntervalSince1970]
            ).compactMap { row in
                UserName(row["user"]).map { UserRemovalRecord(user: $0, removed: Date(timeIntervalSince1970: row["removed_at"])) }
            }
        }
    }

    /// What a user's requests write (links and tags of their audience, usage, limit windows): a
    /// running server's sweep after `eraseUser`, for rows written by requests and flushes that
    /// were under way meanwhile.
    public func eraseUserActivity(_ user: UserName) async throws {
        try await pool.write { db in
            try Self.deleteActivity(db, user: user)
        }
    }

    private static func deleteActivity(_ db: Database, user: UserName) throws {
        let audience = Audience.user(user)
        let limitSubject = Principal.user(user).description
        try db.execute(sql: "DELETE FROM links WHERE audience = ?", arguments: [audience])
        try db.execute(sql: "DELETE FROM tags WHERE audience = ?", arguments: [audience])
        try db.execute(sql: "DELETE FROM referrers WHERE audience = ?", arguments: [audience])
        try db.execute(sql: "DELETE FROM usage_daily WHERE user = ?", arguments: [user.value])
        try db.execute(sql: "DELETE FROM tag_pulls WHERE user = ?", arguments: [user.value])
        try db.execute(sql: "DELETE FROM limit_windows WHERE subject = ?", arguments: [limitSubject])
    }
}
