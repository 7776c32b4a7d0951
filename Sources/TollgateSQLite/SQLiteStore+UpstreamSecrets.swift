import Foundation
import GRDB
import RegistryCore
import TollgateAuth

extension SQLiteStore: UpstreamSecretStore {
    public func putUpstreamSecret(_ r: UpstreamSecretRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO upstream_credentials (user, upstream, username, sealed_password, created_at)
                    VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (user, upstream) DO UPDATE SET
                        username = excluded.username, sealed_password = excluded.sealed_password,
                        created_at = excluded.created_at, last_accepted = NULL, last_checked_at = NULL
                    """,
                arguments: [r.user, r.upstream, r.username, r.sealedPassword, r.created.timeIntervalSince1970])
            try db.execute(sql: "UPDATE settings_version SET version = version + 1 WHERE id = 1")
        }
    }

    public func noteUpstreamSecretResult(
        user: String, upstream: String, _ result: UpstreamSecretRecord.LoginResult
    ) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE upstream_credentials SET last_accepted = ?, last_checked_at = ? WHERE user = ? AND upstream = ?",
                arguments: [result.accepted, result.at.timeIntervalSince1970, user, upstream])
        }
    }

    public func deleteUpstreamSecret(user: String, upstream: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM upstream_credentials WHERE user = ? AND upstream = ?", arguments: [user, upstream])
            let found = db.changesCount > 0
            try db.execute(sql: "UPDATE settings_version SET version = version + 1 WHERE id = 1")
            return found
        }
    }

    public func upstreamSecrets(user: String?) async throws -> [UpstreamSecretRecord] {
        try await pool.read { db in
            let rows =
                if let user {
                    try Row.fetchAll(
                        db, sql: "SELECT * FROM upstream_credentials WHERE user = ? ORDER BY upstream", arguments: [user])
                } else {
                    try Row.fetchAll(db, sql: "SELECT * FROM upstream_credentials ORDER BY user, upstream")
                }
            return rows.map {
                let accepted: Bool? = $0["last_accepted"]
                let checked: Double? = $0["last_checked_at"]
                return UpstreamSecretRecord(
                    user: $0["user"], upstream: $0["upstream"], username: $0["username"],
                    sealedPassword: $0["sealed_password"], created: Date(timeIntervalSince1970: $0["created_at"]),
                    lastResult: accepted.flatMap { a in checked.map { .init(accepted: a, at: Date(timeIntervalSince1970: $0)) } })
            }
        }
    }
}
