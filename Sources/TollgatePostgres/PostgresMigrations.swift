import Logging
import PostgresNIO

/// Every version of the schema, in order; applied once each, under `pg_advisory_lock`.
enum PostgresMigrations {
    /// The advisory lock's key ("TGMIGRAT"): one migrating node at a time.
    static let lockKey: Int64 = 0x5447_4D49_4752_4154

    static let versions: [(version: Int, statements: [PostgresQuery])] = [
        (
            1,
            [
                """
                CREATE TABLE users (
                    name TEXT COLLATE "C" PRIMARY KEY, password_hash TEXT NOT NULL, disabled BOOLEAN NOT NULL DEFAULT false)
                """,
                "CREATE TABLE users_version (id INT PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL)",
                "INSERT INTO users_version (id, version) VALUES (1, 0)",
                "CREATE TABLE keys (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
                """
                CREATE TABLE secret_tokens (
                    id TEXT COLLATE "C" PRIMARY KEY, user_name TEXT COLLATE "C" NOT NULL, kind TEXT NOT NULL,
                    label TEXT NOT NULL, secret_hash TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
                    expires_at DOUBLE PRECISION, origin TEXT, client TEXT, last_used_at DOUBLE PRECISION)
                """,
                "CREATE INDEX secret_tokens_user ON secret_tokens (user_name, kind)",
                "CREATE INDEX secret_tokens_origin ON secret_tokens (origin)",
                """
                CREATE TABLE upstream_secrets (
                    user_name TEXT COLLATE "C" NOT NULL, upstream TEXT COLLATE "C" NOT NULL, username TEXT NOT NULL,
                    sealed_password BYTEA NOT NULL, created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (user_name, upstream))
                """,
                """
                CREATE TABLE usage_daily (
                    user_name TEXT COLLATE "C" NOT NULL, day TEXT COLLATE "C" NOT NULL, upstream TEXT COLLATE "C" NOT NULL,
                    requests BIGINT NOT NULL, pulls BIGINT NOT NULL, bytes_sent BIGINT NOT NULL,
                    hit_bytes BIGINT NOT NULL, upstream_bytes BIGINT NOT NULL, PRIMARY KEY (user_name, day, upstream))
                """,
                """
                CREATE TABLE limit_windows (
                    subject TEXT COLLATE "C" NOT NULL, kind TEXT COLLATE "C" NOT NULL, start BIGINT NOT NULL,
                    used BIGINT NOT NULL, PRIMARY KEY (subject, kind))
                """,
                """
                CREATE TABLE user_settings (
                    user_name TEXT COLLATE "C" PRIMARY KEY, plan TEXT, overrides TEXT NOT NULL, allow TEXT, deny TEXT,
                    updated_at DOUBLE PRECISION NOT NULL)
                """,
                "CREATE TABLE settings_version (id INT PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL)",
                "INSERT INTO settings_version (id, version) VALUES (1, 0)",
            ]
        ),
        (
            2,
            [
                // Removals, by the settings version their removal bumped to: each node forgets what it
                // holds of the user (its own cache links, counts, bearer tokens) when it sees one.
                """
                CREATE TABLE user_removals (
                    version BIGINT PRIMARY KEY, user_name TEXT COLLATE "C" NOT NULL, removed_at DOUBLE PRECISION)
                """
            ]
        ),
        (
            3,
            [
                // Cluster: transfers in flight (by node: released when its heartbeat expires), the
                // request buckets nodes lease tokens from, and the nodes themselves.
                """
                CREATE TABLE transfer_reservations (
                    id TEXT COLLATE "C" PRIMARY KEY, subject TEXT COLLATE "C" NOT NULL, node TEXT COLLATE "C" NOT NULL,
                    bytes BIGINT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())
                """,
                "CREATE INDEX transfer_reservations_subject ON transfer_reservations (subject)",
                "CREATE INDEX transfer_reservations_node ON transfer_reservations (node)",
                """
                CREATE TABLE request_buckets (
                    subject TEXT COLLATE "C" PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL)
                """,
                """
                CREATE TABLE nodes (
                    name TEXT COLLATE "C" PRIMARY KEY, url TEXT NOT NULL, heartbeat_at TIMESTAMPTZ NOT NULL,
                    joined_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())
                """,
            ]
        ),
        (
            4,
            [
                // How many of its pulls a batched charge added (`chargeUpTo`'s RETURNING).
                "ALTER TABLE limit_windows ADD COLUMN last_grant BIGINT NOT NULL DEFAULT 0"
            ]
        ),
        (
            5,
            [
                // The web console's admins, and accounts that end on a day (`user set --role/--expires`).
                "ALTER TABLE user_settings ADD COLUMN role TEXT",
                "ALTER TABLE user_settings ADD COLUMN expires TEXT",
            ]
        ),
        (
            6,
            [
                // The audit log, append-only: a trigger refuses every change and removal.
                """
                CREATE TABLE audit_log (
                    id BIGSERIAL PRIMARY KEY, at DOUBLE PRECISION NOT NULL, actor TEXT NOT NULL, address TEXT NOT NULL,
                    action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL)
                """,
                "CREATE INDEX audit_log_at ON audit_log (at)",
                """
                CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$
                """,
                """
                CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
                    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()
                """,
            ]
        ),
        (
            7,
            [
                // Whether the upstream accepted a user's own credentials at their last use.
                "ALTER TABLE upstream_secrets ADD COLUMN last_accepted BOOLEAN",
                "ALTER TABLE upstream_secrets ADD COLUMN last_checked_at DOUBLE PRECISION",
            ]
        ),
        (
            8,
            [
                // The eviction log: every node applies each order to its own cache.
                """
                CREATE TABLE cache_evictions (
                    id BIGSERIAL PRIMARY KEY, scope TEXT NOT NULL, digests TEXT NOT NULL DEFAULT '', actor TEXT NOT NULL,
                    at DOUBLE PRECISION NOT NULL)
                """
            ]
        ),
    ]

    static func migrate(_ client: GuardedClient, logger: Logger) async throws {
        try await client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(lockKey))", logger: logger)
            do {
                try await connection.query(
                    "CREATE TABLE IF NOT EXISTS tollgate_migrations (version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                    logger: logger)
                var applied = 0
                for try await v in try await connection.query(
                    "SELECT coalesce(max(version), 0) FROM tollgate_migrations", logger: logger
                ).decode(Int.self) { applied = v }
                for (version, statements) in versions where version > applied {
                    try await connection.withTransaction(logger: logger) { tx in
                        for statement in statements { try await tx.query(statement, logger: logger) }
                        try await tx.query("INSERT INTO tollgate_migrations (version) VALUES (\(version))", logger: logger)
                    }
                }
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
                throw error
            }
            try await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
        }
    }
}

extension PostgresStore {
    /// The schema version applied (the latest migration this version knows, after `init`).
    public func schemaVersion() async throws -> Int {
        var version = 0
        for try await v in try await client.query("SELECT coalesce(max(version), 0) FROM tollgate_migrations", logger: logger)
            .decode(Int.self) { version = v }
        return version
    }

    /// The newest schema version this build migrates to.
    public static var latestSchemaVersion: Int { PostgresMigrations.versions.last?.version ?? 0 }
}
