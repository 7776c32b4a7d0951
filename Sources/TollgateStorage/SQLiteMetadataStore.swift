import Foundation
import GRDB
import RegistryCore

/// `MetadataStore` in one SQLite file (WAL mode, a pool of readers and one writer).
public final class SQLiteMetadataStore: MetadataStore {
    private let pool: DatabasePool

    public init(path: String) throws {
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        self.pool = try DatabasePool(path: path, configuration: config)
        try Self.migrator.migrate(pool)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE tags (
                        upstream TEXT NOT NULL, repository TEXT NOT NULL, tag TEXT NOT NULL,
                        digest TEXT NOT NULL, fetched_at REAL NOT NULL,
                        PRIMARY KEY (upstream, repository, tag)
                    ) WITHOUT ROWID;
                    CREATE TABLE manifests (
                        digest TEXT PRIMARY KEY NOT NULL, media_type TEXT NOT NULL, size INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE links (
                        upstream TEXT NOT NULL, repository TEXT NOT NULL, digest TEXT NOT NULL,
                        size INTEGER NOT NULL, created_at REAL NOT NULL DEFAULT (unixepoch()),
                        PRIMARY KEY (upstream, repository, digest)
                    ) WITHOUT ROWID;
                    CREATE INDEX links_digest ON links(digest);
                    """)
        }
        m.registerMigration("v2-credentials") { db in
            try db.execute(
                sql: """
                    CREATE TABLE credentials (
                        id TEXT PRIMARY KEY NOT NULL, user TEXT NOT NULL, kind TEXT NOT NULL, label TEXT NOT NULL,
                        secret_hash TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL
                    ) WITHOUT ROWID;
                    CREATE INDEX credentials_user ON credentials(user, kind);
                    """)
        }
        m.registerMigration("v3-usage") { db in
            try db.execute(
                sql: """
                    CREATE TABLE usage_daily (
                        user TEXT NOT NULL, day TEXT NOT NULL, upstream TEXT NOT NULL,
                        requests INTEGER NOT NULL DEFAULT 0, pulls INTEGER NOT NULL DEFAULT 0,
                        bytes_sent INTEGER NOT NULL DEFAULT 0, hit_bytes INTEGER NOT NULL DEFAULT 0,
                        upstream_bytes INTEGER NOT NULL DEFAULT 0,
                        PRIMARY KEY (user, day, upstream)
                    ) WITHOUT ROWID;
                    CREATE INDEX usage_daily_day ON usage_daily(day);
                    CREATE TABLE limit_windows (
                        subject TEXT NOT NULL, kind TEXT NOT NULL, start INTEGER NOT NULL, used INTEGER NOT NULL,
                        PRIMARY KEY (subject, kind)
                    ) WITHOUT ROWID;
                    CREATE TABLE user_settings (
                        user TEXT PRIMARY KEY NOT NULL, plan TEXT, overrides TEXT NOT NULL DEFAULT '{}',
                        updated_at REAL NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE settings_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
                    INSERT INTO settings_version (id, version) VALUES (1, 0);
                    """)
        }
        m.registerMigration("v4-audience") { db in
            // Tags and links are kept per audience: `shared`, or `user:<name>` for content fetched
            // with a user's own upstream credentials (visible to that user only).
            try db.execute(
                sql: """
                    CREATE TABLE tags_new (
                        upstream TEXT NOT NULL, repository TEXT NOT NULL, tag TEXT NOT NULL,
                        audience TEXT NOT NULL DEFAULT 'shared', digest TEXT NOT NULL, fetched_at REAL NOT NULL,
                        PRIMARY KEY (upstream, repository, tag, audience)
                    ) WITHOUT ROWID;
                    INSERT INTO tags_new (upstream, repository, tag, digest, fetched_at)
                        SELECT upstream, repository, tag, digest, fetched_at FROM tags;
                    DROP TABLE tags;
                    ALTER TABLE tags_new RENAME TO tags;
                    CREATE TABLE links_new (
                        upstream TEXT NOT NULL, repository TEXT NOT NULL, digest TEXT NOT NULL,
                        audience TEXT NOT NULL DEFAULT 'shared',
                        size INTEGER NOT NULL, created_at REAL NOT NULL DEFAULT (unixepoch()),
                        PRIMARY KEY (upstream, repository, digest, audience)
                    ) WITHOUT ROWID;
                    INSERT INTO links_new (upstream, repository, digest, size, created_at)
                        SELECT upstream, repository, digest, size, created_at FROM links;
                    DROP TABLE links;
                    ALTER TABLE links_new RENAME TO links;
                    CREATE INDEX links_digest ON links(digest);
                    """)
        }
        m.registerMigration("v5-upstream-credentials") { db in
            try db.execute(
                sql: """
                    CREATE TABLE upstream_credentials (
                        user TEXT NOT NULL, upstream TEXT NOT NULL, username TEXT NOT NULL,
                        sealed_password BLOB NOT NULL, created_at REAL NOT NULL,
                        PRIMARY KEY (user, upstream)
                    ) WITHOUT ROWID;
                    ALTER TABLE user_settings ADD COLUMN allow TEXT;
                    ALTER TABLE user_settings ADD COLUMN deny TEXT;
                    """)
        }
        m.registerMigration("v6-blob-access") { db in
            try db.execute(
                sql: """
                    CREATE TABLE blob_access (
                        digest TEXT PRIMARY KEY NOT NULL, size INTEGER NOT NULL, last_access REAL NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX blob_access_lru ON blob_access(last_access);
                    CREATE INDEX tags_digest ON tags(digest);
                    """)
        }
        m.registerMigration("v7-accounts") { db in
            // Refresh tokens remember what they were obtained with (a personal token's id, or NULL
            // for a password), the client and their last use; `user_removals` tells a running server
            // which deleted users' cached content, usage and limits to forget.
            try db.execute(
                sql: """
                    ALTER TABLE credentials ADD COLUMN origin TEXT;
                    ALTER TABLE credentials ADD COLUMN client TEXT;
                    ALTER TABLE credentials ADD COLUMN last_used_at REAL;
                    CREATE INDEX credentials_origin ON credentials(origin);
                    CREATE INDEX links_audience ON links(audience);
                    CREATE INDEX tags_audience ON tags(audience);
                    CREATE TABLE user_removals (
                        version INTEGER NOT NULL, user TEXT NOT NULL, removed_at REAL,
                        PRIMARY KEY (version, user)
                    ) WITHOUT ROWID;
                    """)
        }
        m.registerMigration("v8-referrers") { db in
            // Referrers pages (OCI image indexes) per audience and query, for stale-if-error;
            // bodies are at most 4 MiB and pages unrefreshed for a week are dropped.
            try db.execute(
                sql: """
                    CREATE TABLE referrers (
                        upstream TEXT NOT NULL, repository TEXT NOT NULL, subject TEXT NOT NULL,
                        query TEXT NOT NULL, audience TEXT NOT NULL, content_type TEXT NOT NULL,
                        filters_applied TEXT, next_query TEXT, body BLOB NOT NULL, fetched_at REAL NOT NULL,
                        UNIQUE (upstream, repository, subject, query, audience)
                    );
                    CREATE INDEX referrers_audience ON referrers(audience);
                    CREATE INDEX referrers_fetched_at ON referrers(fetched_at);
                    """)
        }
        return m
    }

    /// How long a referrers page nobody asked for again is kept (for serving stale).
    public static let referrersRetention: Double = 7 * 86400

    public func referrers(upstream: String, repository: String, subject: Digest, query: String, audience: String)
        async throws -> ReferrersRecord?
    {
        try await pool.read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT content_type, filters_applied, next_query, body, fetched_at FROM referrers
                        WHERE upstream = ? AND repository = ? AND subject = ? AND query = ? AND audience = ?
                        """,
                    arguments: [upstream, repository, subject.description, query, audience])
            else { return nil }
            let body: Data = row["body"]
            return ReferrersRecord(
                upstream: upstream, repository: repository, subject: subject, query: query, audience: audience,
                contentType: row["content_type"], filtersApplied: row["filters_applied"], nextQuery: row["next_query"],
                body: Array(body), fetchedAt: row["fetched_at"])
        }
    }

    public func putReferrers(_ r: ReferrersRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO referrers (upstream, repository, subject, query, audience, content_type,
                        filters_applied, next_query, body, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (upstream, repository, subject, query, audience) DO UPDATE SET
                        content_type = excluded.content_type, filters_applied = excluded.filters_applied,
                        next_query = excluded.next_query, body = excluded.body, fetched_at = excluded.fetched_at
                    """,
                arguments: [
                    r.upstream, r.repository, r.subject.description, r.query, r.audience, r.contentType,
                    r.filtersApplied, r.nextQuery, Data(r.body), r.fetchedAt,
                ])
            try db.execute(
                sql: "DELETE FROM referrers WHERE fetched_at < ?", arguments: [r.fetchedAt - Self.referrersRetention])
        }
    }

    public func tag(upstream: String, repository: String, tag: String, audience: String) async throws -> TagRecord? {
        try await pool.read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql:
                        "SELECT digest, fetched_at FROM tags WHERE upstream = ? AND repository = ? AND tag = ? AND audience = ?",
                    arguments: [upstream, repository, tag, audience]),
                let digest = try? Digest(parsing: row["digest"] as String)
            else { return nil }
            return TagRecord(
                upstream: upstream, repository: repository, tag: tag, digest: digest, fetchedAt: row["fetched_at"],
                audience: audience)
        }
    }

    public func putTag(_ r: TagRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO tags (upstream, repository, tag, audience, digest, fetched_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (upstream, repository, tag, audience) DO UPDATE SET
                        digest = excluded.digest, fetched_at = excluded.fetched_at
                    """,
                arguments: [r.upstream, r.repository, r.tag, r.audience, r.digest.description, r.fetchedAt])
        }
    }

    public func deleteTag(upstream: String, repository: String, tag: String, audience: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM tags WHERE upstream = ? AND repository = ? AND tag = ? AND audience = ?",
                arguments: [upstream, repository, tag, audience])
        }
    }

    public func tags(upstream: String, repository: String, audiences: [String]) async throws -> [String] {
        try await pool.read { db in
            let marks = audiences.map { _ in "?" }.joined(separator: ",")
            return try String.fetchAll(
                db,
                sql:
                    "SELECT DISTINCT tag FROM tags WHERE upstream = ? AND repository = ? AND audience IN (\(marks)) ORDER BY tag",
                arguments: StatementArguments([upstream, repository] + audiences))
        }
    }

    public func manifest(_ digest: Digest) async throws -> ManifestRecord? {
        try await pool.read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT media_type, size FROM manifests WHERE digest = ?", arguments: [digest.description])
            else { return nil }
            return ManifestRecord(digest: digest, mediaType: row["media_type"], size: row["size"])
        }
    }

    public func putManifest(_ r: ManifestRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO manifests (digest, media_type, size) VALUES (?, ?, ?)",
                arguments: [r.digest.description, r.mediaType, r.size])
        }
    }

    public func link(upstream: String, repository: String, digest: Digest, audience: String) async throws
        -> LinkRecord?
    {
        try await pool.read { db in
            guard
                let size = try Int64.fetchOne(
                    db,
                    sql: "SELECT size FROM links WHERE upstream = ? AND repository = ? AND digest = ? AND audience = ?",
                    arguments: [upstream, repository, digest.description, audience])
            else { return nil }
            return LinkRecord(upstream: upstream, repository: repository, digest: digest, size: size, audience: audience)
        }
    }

    public func putLink(_ r: LinkRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO links (upstream, repository, digest, audience, size) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (upstream, repository, digest, audience) DO UPDATE SET size = excluded.size
                    """,
                arguments: [r.upstream, r.repository, r.digest.description, r.audience, r.size])
        }
    }

    public func hasLink(upstream: String, digest: Digest) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM links WHERE digest = ? AND upstream = ?)",
                arguments: [digest.description, upstream]) ?? false
        }
    }

    public func repositories(audiences: [String]) async throws -> [RepositoryKey] {
        try await pool.read { db in
            let marks = audiences.map { _ in "?" }.joined(separator: ",")
            return try Row.fetchAll(
                db,
                sql:
                    "SELECT DISTINCT upstream, repository FROM links WHERE audience IN (\(marks)) ORDER BY upstream, repository",
                arguments: StatementArguments(audiences)
            ).map { RepositoryKey(upstream: $0["upstream"], repository: $0["repository"]) }
        }
    }
}

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
    public func deleteUser(_ user: String, audience: String, limitSubject: String, removed: Date?) async throws {
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
    public func deleteUserActivity(_ user: String, audience: String, limitSubject: String) async throws {
        try await pool.write { db in
            try Self.deleteActivity(db, user: user, audience: audience, limitSubject: limitSubject)
        }
    }

    private static func deleteActivity(_ db: Database, user: String, audience: String, limitSubject: String) throws {
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

extension SQLiteMetadataStore: UsageStore {
    public func record(usage: [UsageRecord], windows: [LimitWindowRecord]) async throws {
        guard !usage.isEmpty || !windows.isEmpty else { return }
        try await pool.write { db in
            for u in usage {
                try db.execute(
                    sql: """
                        INSERT INTO usage_daily (user, day, upstream, requests, pulls, bytes_sent, hit_bytes, upstream_bytes)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (user, day, upstream) DO UPDATE SET
                            requests = requests + excluded.requests, pulls = pulls + excluded.pulls,
                            bytes_sent = bytes_sent + excluded.bytes_sent, hit_bytes = hit_bytes + excluded.hit_bytes,
                            upstream_bytes = upstream_bytes + excluded.upstream_bytes
                        """,
                    arguments: [
                        u.user, u.day, u.upstream, u.requests, u.pulls, u.bytesSent, u.hitBytes, u.upstreamBytes,
                    ])
            }
            for w in windows {
                try db.execute(
                    sql: """
                        INSERT INTO limit_windows (subject, kind, start, used) VALUES (?, ?, ?, ?)
                        ON CONFLICT (subject, kind) DO UPDATE SET start = excluded.start, used = excluded.used
                        """,
                    arguments: [w.subject, w.kind, w.start, w.used])
            }
        }
    }

    public func usage(since day: String, user: String?) async throws -> [UsageRecord] {
        try await pool.read { db in
            let rows =
                if let user {
                    try Row.fetchAll(
                        db, sql: "SELECT * FROM usage_daily WHERE day >= ? AND user = ? ORDER BY user, day, upstream",
                        arguments: [day, user])
                } else {
                    try Row.fetchAll(
                        db, sql: "SELECT * FROM usage_daily WHERE day >= ? ORDER BY user, day, upstream",
                        arguments: [day])
                }
            return rows.map { row in
                var r = UsageRecord(user: row["user"], day: row["day"], upstream: row["upstream"])
                r.requests = row["requests"]
                r.pulls = row["pulls"]
                r.bytesSent = row["bytes_sent"]
                r.hitBytes = row["hit_bytes"]
                r.upstreamBytes = row["upstream_bytes"]
                return r
            }
        }
    }

    public func limitWindows(since start: Int64) async throws -> [LimitWindowRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM limit_windows WHERE start >= ?", arguments: [start]).map {
                LimitWindowRecord(subject: $0["subject"], kind: $0["kind"], start: $0["start"], used: $0["used"])
            }
        }
    }

    public func pruneLimitWindows(before start: Int64) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM limit_windows WHERE start < ?", arguments: [start])
        }
    }

    public func userSettings() async throws -> [UserSettingsRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT user, plan, overrides, allow, deny FROM user_settings ORDER BY user").map {
                row in
                UserSettingsRecord(
                    user: row["user"], plan: row["plan"], overrides: Self.decodeOverrides(row["overrides"]),
                    allow: Self.decodeList(row["allow"]), deny: Self.decodeList(row["deny"]))
            }
        }
    }

    public func putUserSettings(_ s: UserSettingsRecord) async throws {
        try await pool.write { db in
            if s.isEmpty {
                try db.execute(sql: "DELETE FROM user_settings WHERE user = ?", arguments: [s.user])
            } else {
                try db.execute(
                    sql: """
                        INSERT INTO user_settings (user, plan, overrides, allow, deny, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                        ON CONFLICT (user) DO UPDATE SET
                            plan = excluded.plan, overrides = excluded.overrides, allow = excluded.allow,
                            deny = excluded.deny, updated_at = excluded.updated_at
                        """,
                    arguments: [
                        s.user, s.plan, Self.encodeOverrides(s.overrides), s.allow.map(Self.encodeList),
                        s.deny.map(Self.encodeList), Date().timeIntervalSince1970,
                    ])
            }
            try db.execute(sql: "UPDATE settings_version SET version = version + 1 WHERE id = 1")
        }
    }

    public func settingsVersion() async throws -> Int64 {
        try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT version FROM settings_version WHERE id = 1") ?? 0
        }
    }

    /// `{"pulls_per_6h":3,"bytes_per_day":null}`: a JSON object, null for unlimited.
    static func encodeOverrides(_ o: [String: Int64?]) -> String {
        let items = o.keys.sorted().map { key in
            "\(JSONString.quote(key)):\(o[key]!.map(String.init) ?? "null")"
        }
        return "{" + items.joined(separator: ",") + "}"
    }

    static func encodeList(_ list: [String]) -> String {
        "[" + list.map(JSONString.quote).joined(separator: ",") + "]"
    }

    static func decodeList(_ text: String?) -> [String]? {
        guard let data = text?.data(using: .utf8) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String]
    }

    static func decodeOverrides(_ text: String) -> [String: Int64?] {
        guard let data = text.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [:] }
        var result: [String: Int64?] = [:]
        for (key, value) in object {
            if value is NSNull {
                result[key] = .some(nil)
            } else if let n = value as? NSNumber {
                result[key] = .some(n.int64Value)
            }
        }
        return result
    }
}

extension SQLiteMetadataStore: UpstreamCredentialStore {
    public func putUpstreamCredential(_ r: UpstreamCredentialRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO upstream_credentials (user, upstream, username, sealed_password, created_at)
                    VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (user, upstream) DO UPDATE SET
                        username = excluded.username, sealed_password = excluded.sealed_password,
                        created_at = excluded.created_at
                    """,
                arguments: [r.user, r.upstream, r.username, r.sealedPassword, r.created.timeIntervalSince1970])
            try db.execute(sql: "UPDATE settings_version SET version = version + 1 WHERE id = 1")
        }
    }

    public func deleteUpstreamCredential(user: String, upstream: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM upstream_credentials WHERE user = ? AND upstream = ?", arguments: [user, upstream])
            let found = db.changesCount > 0
            try db.execute(sql: "UPDATE settings_version SET version = version + 1 WHERE id = 1")
            return found
        }
    }

    public func upstreamCredentials(user: String?) async throws -> [UpstreamCredentialRecord] {
        try await pool.read { db in
            let rows =
                if let user {
                    try Row.fetchAll(
                        db, sql: "SELECT * FROM upstream_credentials WHERE user = ? ORDER BY upstream", arguments: [user])
                } else {
                    try Row.fetchAll(db, sql: "SELECT * FROM upstream_credentials ORDER BY user, upstream")
                }
            return rows.map {
                UpstreamCredentialRecord(
                    user: $0["user"], upstream: $0["upstream"], username: $0["username"],
                    sealedPassword: $0["sealed_password"], created: Date(timeIntervalSince1970: $0["created_at"]))
            }
        }
    }
}

extension SQLiteMetadataStore: CacheIndexStore {
    public func recordAccess(_ entries: [BlobAccess]) async throws {
        guard !entries.isEmpty else { return }
        try await pool.write { db in
            for e in entries {
                try db.execute(
                    sql: """
                        INSERT INTO blob_access (digest, size, last_access) VALUES (?, ?, ?)
                        ON CONFLICT (digest) DO UPDATE SET
                            size = excluded.size, last_access = max(last_access, excluded.last_access)
                        """,
                    arguments: [e.digest.description, e.size, e.lastAccess])
            }
        }
    }

    public func leastRecentlyUsed(limit: Int, olderThan: Double?) async throws -> [BlobAccess] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT digest, size, last_access FROM blob_access WHERE last_access < ? ORDER BY last_access LIMIT ?",
                arguments: [olderThan ?? Double.greatestFiniteMagnitude, limit]
            ).compactMap { row in
                (try? Digest(parsing: row["digest"] as String)).map {
                    BlobAccess(digest: $0, size: row["size"], lastAccess: row["last_access"])
                }
            }
        }
    }

    public func cachedBytes() async throws -> (blobs: Int64, bytes: Int64) {
        try await pool.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM blob_access")
            return (row?["n"] ?? 0, row?["bytes"] ?? 0)
        }
    }

    public func isTagged(_ digest: Digest) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM tags WHERE digest = ?)", arguments: [digest.description])
                ?? false
        }
    }

    public func forget(_ digest: Digest) async throws {
        try await pool.write { db in
            for table in ["blob_access", "links", "manifests"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE digest = ?", arguments: [digest.description])
            }
        }
    }

    public func reconcile(with files: [StoredBlob]) async throws {
        try await pool.write { db in
            try db.execute(sql: "CREATE TEMP TABLE IF NOT EXISTS present (digest TEXT PRIMARY KEY) WITHOUT ROWID")
            try db.execute(sql: "DELETE FROM present")
            for f in files {
                try db.execute(sql: "INSERT OR IGNORE INTO present (digest) VALUES (?)", arguments: [f.digest.description])
                try db.execute(
                    sql: "INSERT INTO blob_access (digest, size, last_access) VALUES (?, ?, ?) ON CONFLICT (digest) DO UPDATE SET size = excluded.size",
                    arguments: [f.digest.description, f.size, f.modified])
            }
            try db.execute(sql: "DELETE FROM blob_access WHERE digest NOT IN (SELECT digest FROM present)")
            try db.execute(sql: "DROP TABLE present")
        }
    }

    public func sharesByUpstream() async throws -> [CacheShare] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT l.upstream AS name, count(*) AS blobs, coalesce(sum(a.size), 0) AS bytes
                    FROM (SELECT DISTINCT upstream, digest FROM links) l
                    JOIN blob_access a ON a.digest = l.digest
                    GROUP BY l.upstream ORDER BY bytes DESC
                    """
            ).map { CacheShare(name: $0["name"], blobs: $0["blobs"], bytes: $0["bytes"]) }
        }
    }

    public func topRepositories(limit: Int) async throws -> [CacheShare] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT l.upstream || '/' || l.repository AS name, count(*) AS blobs, coalesce(sum(a.size), 0) AS bytes
                    FROM (SELECT DISTINCT upstream, repository, digest FROM links) l
                    JOIN blob_access a ON a.digest = l.digest
                    GROUP BY l.upstream, l.repository ORDER BY bytes DESC LIMIT ?
                    """,
                arguments: [limit]
            ).map { CacheShare(name: $0["name"], blobs: $0["blobs"], bytes: $0["bytes"]) }
        }
    }
}
