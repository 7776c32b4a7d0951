import Foundation
import GRDB
import RegistryCore
import TollgateProxy

extension SQLiteStore: CacheIndexStore {
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

    public func recordTagPulls(_ pulls: [TagPull]) async throws {
        guard !pulls.isEmpty else { return }
        try await pool.write { db in
            for p in pulls {
                try db.execute(
                    sql: """
                        INSERT INTO tag_pulls (upstream, repository, tag, user, last_pulled) VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT (upstream, repository, tag, user) DO UPDATE SET
                            last_pulled = max(last_pulled, excluded.last_pulled)
                        """,
                    arguments: [p.upstream, p.repository, p.tag, p.user, p.at])
            }
        }
    }

    public func tagPulls(upstream: String, repository: String) async throws -> [String: TagPullSummary] {
        try await pool.read { db in
            var result: [String: TagPullSummary] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT tag, max(last_pulled) AS last, count(*) AS users FROM tag_pulls
                    WHERE upstream = ? AND repository = ? GROUP BY tag
                    """,
                arguments: [upstream, repository])
            {
                result[row["tag"]] = TagPullSummary(lastPulled: row["last"], users: row["users"])
            }
            return result
        }
    }

    public func appliedEviction() async throws -> Int64? {
        try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT value FROM cache_state WHERE key = 'applied_eviction'") }
    }

    public func recordAppliedEviction(_ id: Int64) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO cache_state (key, value) VALUES ('applied_eviction', ?)
                    ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)
                    """,
                arguments: [id])
        }
    }
}
