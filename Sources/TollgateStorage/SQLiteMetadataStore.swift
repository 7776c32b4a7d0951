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
        return m
    }

    public func tag(upstream: String, repository: String, tag: String) async throws -> TagRecord? {
        try await pool.read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT digest, fetched_at FROM tags WHERE upstream = ? AND repository = ? AND tag = ?",
                    arguments: [upstream, repository, tag]),
                let digest = try? Digest(parsing: row["digest"] as String)
            else { return nil }
            return TagRecord(
                upstream: upstream, repository: repository, tag: tag, digest: digest, fetchedAt: row["fetched_at"])
        }
    }

    public func putTag(_ r: TagRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO tags (upstream, repository, tag, digest, fetched_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (upstream, repository, tag) DO UPDATE SET digest = excluded.digest, fetched_at = excluded.fetched_at
                    """,
                arguments: [r.upstream, r.repository, r.tag, r.digest.description, r.fetchedAt])
        }
    }

    public func deleteTag(upstream: String, repository: String, tag: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM tags WHERE upstream = ? AND repository = ? AND tag = ?",
                arguments: [upstream, repository, tag])
        }
    }

    public func tags(upstream: String, repository: String) async throws -> [String] {
        try await pool.read { db in
            try String.fetchAll(
                db, sql: "SELECT tag FROM tags WHERE upstream = ? AND repository = ? ORDER BY tag",
                arguments: [upstream, repository])
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

    public func link(upstream: String, repository: String, digest: Digest) async throws -> LinkRecord? {
        try await pool.read { db in
            guard
                let size = try Int64.fetchOne(
                    db, sql: "SELECT size FROM links WHERE upstream = ? AND repository = ? AND digest = ?",
                    arguments: [upstream, repository, digest.description])
            else { return nil }
            return LinkRecord(upstream: upstream, repository: repository, digest: digest, size: size)
        }
    }

    public func putLink(_ r: LinkRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO links (upstream, repository, digest, size) VALUES (?, ?, ?, ?)
                    ON CONFLICT (upstream, repository, digest) DO UPDATE SET size = excluded.size
                    """,
                arguments: [r.upstream, r.repository, r.digest.description, r.size])
        }
    }

    public func repositories() async throws -> [RepositoryKey] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT DISTINCT upstream, repository FROM links ORDER BY upstream, repository")
                .map { RepositoryKey(upstream: $0["upstream"], repository: $0["repository"]) }
        }
    }
}

extension SQLiteMetadataStore: CredentialStore {
    public func insertCredential(_ r: CredentialRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO credentials (id, user, kind, label, secret_hash, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    r.id, r.user, r.kind.rawValue, r.label, r.secretHash, r.created.timeIntervalSince1970,
                    r.expires?.timeIntervalSince1970,
                ])
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
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM credentials WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    public func deleteCredentials(user: String, kind: CredentialRecord.Kind?) async throws -> Int {
        try await pool.write { db in
            if let kind {
                try db.execute(
                    sql: "DELETE FROM credentials WHERE user = ? AND kind = ?", arguments: [user, kind.rawValue])
            } else {
                try db.execute(sql: "DELETE FROM credentials WHERE user = ?", arguments: [user])
            }
            return db.changesCount
        }
    }

    private static func credential(_ row: Row) -> CredentialRecord? {
        guard let kind = CredentialRecord.Kind(rawValue: row["kind"]) else { return nil }
        let expires: Double? = row["expires_at"]
        return CredentialRecord(
            id: row["id"], user: row["user"], kind: kind, label: row["label"], secretHash: row["secret_hash"],
            created: Date(timeIntervalSince1970: row["created_at"]),
            expires: expires.map { Date(timeIntervalSince1970: $0) })
    }
}
