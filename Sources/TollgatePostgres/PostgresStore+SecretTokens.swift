import Foundation
import PostgresNIO
import TollgateAuth

extension PostgresStore: SecretTokenStore {
    public func insertSecretToken(_ r: SecretTokenRecord, keepNewest: Int?) async throws {
        try await client.withTransaction(logger: logger) { [logger] c in
            if keepNewest != nil {
                // Two writers capping the same list must not each miss the other's row (READ COMMITTED): one at a time.
                try await c.query(
                    "SELECT pg_advisory_xact_lock(hashtext(\(r.user)), hashtext(\(r.kind.rawValue)))",
                    logger: logger)
            }
            try await c.query(
                """
                INSERT INTO secret_tokens
                    (id, user_name, kind, label, secret_hash, created_at, expires_at, origin, client, last_used_at)
                VALUES (\(r.id), \(r.user), \(r.kind.rawValue), \(r.label), \(r.secretHash), \(r.created.timeIntervalSince1970),
                    \(r.expires?.timeIntervalSince1970), \(r.origin), \(r.client), \(r.lastUsed?.timeIntervalSince1970))
                """, logger: logger)
            guard let keepNewest else { return }
            try await c.query(
                """
                DELETE FROM secret_tokens WHERE user_name = \(r.user) AND kind = \(r.kind.rawValue)
                    AND expires_at < \(r.created.timeIntervalSince1970)
                """, logger: logger)
            var doomed: [String] = []
            for try await id in try await c.query(
                """
                SELECT id FROM secret_tokens WHERE user_name = \(r.user) AND kind = \(r.kind.rawValue)
                ORDER BY created_at DESC, id OFFSET \(keepNewest)
                """, logger: logger
            ).decode(String.self) { doomed.append(id) }
            for id in doomed { _ = try await Self.deleteSecretToken(c, id: id, logger) }
        }
    }

    public func secretToken(id: String) async throws -> SecretTokenRecord? {
        try await Self.tokens(client.query("SELECT \(unescaped: Self.columns) FROM secret_tokens WHERE id = \(id)", logger: logger))
            .first
    }

    public func secretTokens(user: String, kind: SecretTokenRecord.Kind) async throws -> [SecretTokenRecord] {
        try await Self.tokens(
            client.query(
                """
                SELECT \(unescaped: Self.columns) FROM secret_tokens WHERE user_name = \(user) AND kind = \(kind.rawValue)
                ORDER BY created_at, id
                """, logger: logger))
    }

    public func deleteSecretToken(id: String) async throws -> Bool {
        try await client.withTransaction(logger: logger) { [logger] c in try await Self.deleteSecretToken(c, id: id, logger) }
    }

    /// The token and what was obtained with it.
    static func deleteSecretToken(_ c: PostgresConnection, id: String, _ logger: Logger) async throws -> Bool {
        let found = try await count(c.query("DELETE FROM secret_tokens WHERE id = \(id) RETURNING 1", logger: logger))
        try await c.query("DELETE FROM secret_tokens WHERE origin = \(id)", logger: logger)
        return found > 0
    }

    public func touchSecretToken(id: String, at: Date) async throws {
        try await client.query(
            "UPDATE secret_tokens SET last_used_at = \(at.timeIntervalSince1970) WHERE id = \(id)", logger: logger)
    }

    public func deleteSecretTokens(user: String, kind: SecretTokenRecord.Kind?) async throws -> Int {
        try await client.withTransaction(logger: logger) { [logger] c in
            guard let kind else {
                return try await Self.count(
                    c.query("DELETE FROM secret_tokens WHERE user_name = \(user) RETURNING 1", logger: logger))
            }
            var ids: [String] = []
            for try await id in try await c.query(
                "SELECT id FROM secret_tokens WHERE user_name = \(user) AND kind = \(kind.rawValue)", logger: logger
            ).decode(String.self) { ids.append(id) }
            var n = 0
            for id in ids where try await Self.deleteSecretToken(c, id: id, logger) { n += 1 }
            return n
        }
    }

    static let columns = "id, user_name, kind, label, secret_hash, created_at, expires_at, origin, client, last_used_at"

    private static func tokens(_ rows: PostgresRowSequence) async throws -> [SecretTokenRecord] {
        var result: [SecretTokenRecord] = []
        for try await (id, user, kind, label, hash, created, expires, origin, client, lastUsed) in rows.decode((String, String, String, String, String, Double, Double?, String?, String?, Double?).self) {
            guard let kind = SecretTokenRecord.Kind(rawValue: kind) else { continue }
            result.append(
                SecretTokenRecord(
                    id: id, user: user, kind: kind, label: label, secretHash: hash,
                    created: Date(timeIntervalSince1970: created), expires: expires.map { Date(timeIntervalSince1970: $0) },
                    origin: origin, client: client, lastUsed: lastUsed.map { Date(timeIntervalSince1970: $0) }))
        }
        return result
    }
}
