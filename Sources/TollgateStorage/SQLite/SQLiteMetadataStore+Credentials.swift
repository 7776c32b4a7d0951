import Foundation
import GRDB
import RegistryCore

extension SQLiteMetadataStore: CredentialStore {
    public func insertCredential(_ r: CredentialRecord, keepNewest: Int?) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO credentials
                        (id, user, kind, label, secret_hash, created_at, expires_at, origin, client, last_used_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    r.id, r.user, r.kind.rawValue, r.label, r.secretHash, r.created.timeIntervalSince1970,
                    r.expires?.timeIntervalSince1970, r.origin, r.client, r.lastUsed?.timeIntervalSince1970,
                ])
            guard let keepNewest else { return }
            try db.execute(
                sql: "DELETE FROM credentials WHERE user = ? AND kind = ? AND expires_at < ?",
                arguments: [r.user, r.kind.rawValue, r.created.timeIntervalSince1970])
            let doomed = try String.fetchAll(
                db,
                sql: """
                    SELECT id FROM credentials WHERE user = ? AND kind = ?
                    ORDER BY created_at DESC, id LIMIT -1 OFFSET ?
                    """,
                arguments: [r.user, r.kind.rawValue, keepNewest])
            for id in doomed { try Self.deleteCredential(db, id: id) }
        }
    }

    public func credential(id: String) async throws -> CredentialRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM credentials WHERE id = ?", arguments: [id]).flatMap(Self.credential)
        }
    }

    public func credentials(user: String, kind: CredentialRecord.Kind) async throws -> [CredentialRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM credentials WHERE user = ? AND kind = ? ORDER BY created_at",
                arguments: [user, kind.rawValue]
            ).compactMap(Self.credential)
        }
    }

    public func deleteCredential(id: String) async throws -> Bool {
        try await pool.write { db in try Self.deleteCredential(db, id: id) }
    }

    /// The credential and what was obtained with it.
    @discardableResult
    private static func deleteCredential(_ db: Database, id: String) throws -> Bool {
        try db.execute(sql: "DELETE FROM credentials WHERE id = ?", arguments: [id])
        let found = db.changesCount > 0
        try db.execute(sql: "DELETE FROM credentials WHERE origin = ?", arguments: [id])
        return found
    }

    public func touchCredential(id: String, at: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE credentials SET last_used_at = ? WHERE id = ?", arguments: [at.timeIntervalSince1970, id])
        }
    }

    public func deleteCredentials(user: String, kind: CredentialRecord.Kind?) async throws -> Int {
        try await pool.write { db in
            if let kind {
                let ids = try String.fetchAll(
                    db, sql: "SELECT id FROM credentials WHERE user = ? AND kind = ?", arguments: [user, kind.rawValue])
                var n = 0
                for id in ids { if try Self.deleteCredential(db, id: id) { n += 1 } }
                return n
            } else {
                try db.execute(sql: "DELETE FROM credentials WHERE user = ?", arguments: [user])
                return db.changesCount
            }
        }
    }

    /// Everything stored for `user`, in one transaction: their audience's links and tags (so
    /// their catalog), personal and refresh tokens, upstream credentials, settings, usage
    /// history and limit windows. Bumps the settings version and records the removal, so a
    /// running server forgets what it holds of the user in memory (`userRemovals`).
    /// `removed`: when the user was removed (their bearer tokens end then); nil when a new user is
    /// added and only leftovers of a former one are cleared.
    public func deleteUser(_ user: String, audience: Audience, limitSubject: String, removed: Date?) async throws {
        try await pool.write { db in
            try Self.deleteActivity(db, user: user, audience: audience, limitSubject: limitSubject)
            for table in ["credentials", "upstream_credentials", "user_settings"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE user = ?", arguments: [user])
            }
            try db.execute(sql: "UPDATE settings_version SET version = version + 1 WHERE id = 1")
            let version = try Int64.fetchOne(db, sql: "SELECT version FROM settings_version WHERE id = 1") ?? 0
            try db.execute(
                sql: "INSERT OR IGNORE INTO user_removals (version, user, removed_at) VALUES (?, ?, ?)",
                arguments: [version, user, removed?.timeIntervalSince1970])
        }
    }

    /// Users removed (or cleared for a new user: `removed` nil) after settings version `after`.
    public func userRemovals(after version: Int64) async throws -> [(user: String, removed: Date?)] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT user, removed_at FROM user_removals WHERE version > ? ORDER BY version",
                arguments: [version]
            ).map { row in
                let removed: Double? = row["removed_at"]
                return (row["user"], removed.map { Date(timeIntervalSince1970: $0) })
            }
        }
    }

    /// Users removed since `since`, with when.
    public func userRemovals(since: Date) async throws -> [(user: String, removed: Date)] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT user, removed_at FROM user_removals WHERE removed_at >= ? ORDER BY version",
                arguments: [since.timeIntervalSince1970]
            ).map { ($0["user"], Date(timeIntervalSince1970: $0["removed_at"])) }
        }
    }

    /// What a user's requests write (links and tags of their audience, usage, limit windows): a
    /// running server's sweep after `deleteUser`, for rows written by requests and flushes that
    /// were under way meanwhile.
    public func deleteUserActivity(_ user: String, audience: Audience, limitSubject: String) async throws {
        try await pool.write { db in
            try Self.deleteActivity(db, user: user, audience: audience, limitSubject: limitSubject)
        }
    }

    private static func deleteActivity(_ db: Database, user: String, audience: Audience, limitSubject: String) throws {
        try db.execute(sql: "DELETE FROM links WHERE audience = ?", arguments: [audience])
        try db.execute(sql: "DELETE FROM tags WHERE audience = ?", arguments: [audience])
        try db.execute(sql: "DELETE FROM referrers WHERE audience = ?", arguments: [audience])
        try db.execute(sql: "DELETE FROM usage_daily WHERE user = ?", arguments: [user])
        try db.execute(sql: "DELETE FROM limit_windows WHERE subject = ?", arguments: [limitSubject])
    }

    private static func credential(_ row: Row) -> CredentialRecord? {
        guard let kind = CredentialRecord.Kind(rawValue: row["kind"]) else { return nil }
        let expires: Double? = row["expires_at"]
        let lastUsed: Double? = row["last_used_at"]
        return CredentialRecord(
            id: row["id"], user: row["user"], kind: kind, label: row["label"], secretHash: row["secret_hash"],
            created: Date(timeIntervalSince1970: row["created_at"]),
            expires: expires.map { Date(timeIntervalSince1970: $0) }, origin: row["origin"], client: row["client"],
            lastUsed: lastUsed.map { Date(timeIntervalSince1970: $0) })
    }
}
