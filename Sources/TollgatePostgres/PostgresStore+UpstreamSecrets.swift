import Foundation
import PostgresNIO
import TollgateAuth

extension PostgresStore: UpstreamSecretStore {
    public func putUpstreamSecret(_ r: UpstreamSecretRecord) async throws {
        try await client.withTransaction(logger: logger) { [logger] c in
            try await c.query(
                """
                INSERT INTO upstream_secrets (user_name, upstream, username, sealed_password, created_at)
                VALUES (\(r.user), \(r.upstream), \(r.username), \(r.sealedPassword), \(r.created.timeIntervalSince1970))
                ON CONFLICT (user_name, upstream) DO UPDATE SET
                    username = excluded.username, sealed_password = excluded.sealed_password, created_at = excluded.created_at,
                    last_accepted = NULL, last_checked_at = NULL
                """, logger: logger)
            try await Self.bumpSettingsVersion(c, logger)
        }
    }

    public func noteUpstreamSecretResult(
        user: String, upstream: String, _ result: UpstreamSecretRecord.LoginResult
    ) async throws {
        try await client.query(
            """
            UPDATE upstream_secrets SET last_accepted = \(result.accepted), last_checked_at = \(result.at.timeIntervalSince1970)
            WHERE user_name = \(user) AND upstream = \(upstream)
            """, logger: logger)
    }

    public func deleteUpstreamSecret(user: String, upstream: String) async throws -> Bool {
        try await client.withTransaction(logger: logger) { [logger] c in
            let found = try await Self.count(
                c.query(
                    "DELETE FROM upstream_secrets WHERE user_name = \(user) AND upstream = \(upstream) RETURNING 1",
                    logger: logger))
            try await Self.bumpSettingsVersion(c, logger)
            return found > 0
        }
    }

    public func upstreamSecrets(user: String?) async throws -> [UpstreamSecretRecord] {
        let columns = "user_name, upstream, username, sealed_password, created_at, last_accepted, last_checked_at"
        let rows =
            if let user {
                try await client.query(
                    "SELECT \(unescaped: columns) FROM upstream_secrets WHERE user_name = \(user) ORDER BY upstream",
                    logger: logger)
            } else {
                try await client.query(
                    "SELECT \(unescaped: columns) FROM upstream_secrets ORDER BY user_name, upstream", logger: logger)
            }
        var result: [UpstreamSecretRecord] = []
        for try await (user, upstream, username, sealed, created, accepted, checked) in rows.decode(
            (String, String, String, Data, Double, Bool?, Double?).self)
        {
            result.append(
                UpstreamSecretRecord(
                    user: user, upstream: upstream, username: username, sealedPassword: sealed,
                    created: Date(timeIntervalSince1970: created),
                    lastResult: accepted.flatMap { a in checked.map { .init(accepted: a, at: Date(timeIntervalSince1970: $0)) } }))
        }
        return result
    }
}
