import Foundation
import GRDB
import RegistryCore
import TollgateAuth

extension SQLiteStore: SecretTokenStore {
    public func insertSecretToken(_ r: SecretTokenRecord, keepNewest: Int?) async throws {
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
            for id in doomed { try Self.deleteSecretToken(db, id: id) }
        }
    }

    public func secretToken(id: String) async throws -> SecretTokenRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM credentials WHERE id = ?", arguments: [id]).flatMap(Self.credential)
        }
    }

    public func secretTokens(user: String, kind: SecretTokenRecord.Kind) async throws -> [SecretTokenRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM credentials WHERE user = ? AND kind = ? ORDER BY created_at",
                arguments: [user, kind.rawValue]
            ).compactMap(Self.credential)
        }
    }

    public func deleteSecretToken(id: String) async throws -> Bool {
        try await pool.write { db in try Self.deleteSecretToken(db, id: id) }
    }

    /// The credential and what was obtained with it.
    @discardableResult
    private static func deleteSecretToken(_ db: Database, id: String) throws -> Bool {
        try db.execute(sql: "DELETE FROM credentials WHERE id = ?", arguments: [id])
        let found = db.changesCount > 0
        try db.execute(sql: "DELETE FROM credentials WHERE origin = ?", arguments: [id])
        return found
    }

    public func touchSecretToken(id: String, at: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE credentials SET last_used_at = ? WHERE id = ?", arguments: [at.timeIntervalSince1970, id])
        }
    }

    public func deleteSecretTokens(user: String, kind: SecretTokenRecord.Kind?) async throws -> Int {
        try await pool.write { db in
            if let kind {
                let ids = try String.fetchAll(
                    db, sql: "SELECT id FROM credentials WHERE user = ? AND kind = ?", arguments: [user, kind.rawValue])
                var n = 0
                for id in ids { if try Self.deleteSecretToken(db, id: id) { n += 1 } }
                return n
            } else {
                try db.execute(sql: "DELETE FROM credentials WHERE user = ?", arguments: [user])
                return db.changesCount
            }
        }
    }

    private static func credential(_ row: Row) -> SecretTokenRecord? {
        guard let kind = SecretTokenRecord.Kind(rawValue: row["kind"]) else { return nil }
        let expires: Double? = row["expires_at"]
        let lastUsed: Double? = row["last_used_at"]
        return SecretTokenRecord(
            id: row["id"], user: row["user"], kind: kind, label: row["label"], secretHash: row["secret_hash"],
            created: Date(timeIntervalSince1970: row["created_at"]),
            expires: expires.map { Date(timeIntervalSince1970: $0) }, origin: row["origin"], client: row["client"],
            lastUsed: lastUsed.map { Date(timeIntervalSince1970: $0) })
    }
}
