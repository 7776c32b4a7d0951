import Foundation
import GRDB

extension SQLiteStore {
    /// Every schema change, in order; an existing database is upgraded in place at open.
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
        m.registerMigration("v9-roles-and-expiry") { db in
            try db.execute(
                sql: """
                    ALTER TABLE user_settings ADD COLUMN role TEXT;
                    ALTER TABLE user_settings ADD COLUMN expires TEXT;
                    """)
        }
        m.registerMigration("v10-audit-log") { db in
            // Append-only: the triggers refuse every change and removal.
            try db.execute(
                sql: """
                    CREATE TABLE audit_log (
                        id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, actor TEXT NOT NULL,
                        address TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL
                    );
                    CREATE INDEX audit_log_at ON audit_log(at);
                    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    """)
        }
        m.registerMigration("v11-upstream-login-results") { db in
            try db.execute(
                sql: """
                    ALTER TABLE upstream_credentials ADD COLUMN last_accepted INTEGER;
                    ALTER TABLE upstream_credentials ADD COLUMN last_checked_at REAL;
                    """)
        }
        m.registerMigration("v12-cache-evictions-and-tag-pulls") { db in
            // The eviction log (the CLI's and console's orders, which a running server applies
            // too), the last order this cache applied, and who pulled which tag when.
            try db.execute(
                sql: """
                    CREATE TABLE cache_evictions (
                        id INTEGER PRIMARY KEY AUTOINCREMENT, scope TEXT NOT NULL, digests TEXT NOT NULL DEFAULT '',
                        actor TEXT NOT NULL, at REAL NOT NULL
                    );
                    CREATE TABLE cache_state (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) WITHOUT ROWID;
                    CREATE TABLE tag_pulls (
                        upstream TEXT NOT NULL, repository TEXT NOT NULL, tag TEXT NOT NULL, user TEXT NOT NULL,
                        last_pulled REAL NOT NULL, PRIMARY KEY (upstream, repository, tag, user)
                    ) WITHOUT ROWID;
                    CREATE INDEX referrers_subject ON referrers(upstream, repository, subject);
                    """)
        }
        return m
    }

}
