import Foundation
import GRDB
import RegistryCore
import TollgateProxy

/// Tags, manifests, links, repositories and referrers pages.
extension SQLiteStore: ContentIndexStore {
    /// How long a referrers page nobody asked for again is kept (for serving stale).

    public func referrers(upstream: String, repository: String, subject: Digest, query: String, audience: Audience)
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
                sql: "DELETE FROM referrers WHERE fetched_at < ?", arguments: [r.fetchedAt - ReferrersRecord.retention])
        }
    }

    public func tag(upstream: String, repository: String, tag: String, audience: Audience) async throws -> TagRecord? {
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

    public func deleteTag(upstream: String, repository: String, tag: String, audience: Audience) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM tags WHERE upstream = ? AND repository = ? AND tag = ? AND audience = ?",
                arguments: [upstream, repository, tag, audience])
        }
    }

    public func tags(upstream: String, repository: String, audiences: [Audience]) async throws -> [String] {
        try await pool.read { db in
            let marks = databaseQuestionMarks(count: audiences.count)
            return try String.fetchAll(
                db,
                sql:
                    "SELECT DISTINCT tag FROM tags WHERE upstream = ? AND repository = ? AND audience IN (\(marks)) ORDER BY tag",
                arguments: StatementArguments([upstream, repository] + audiences.map(\.key)))
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

    public func link(upstream: String, repository: String, digest: Digest, audience: Audience) async throws
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

    public func repositories(audiences: [Audience]) async throws -> [RepositoryKey] {
        try await pool.read { db in
            let marks = databaseQuestionMarks(count: audiences.count)
            return try Row.fetchAll(
                db,
                sql:
                    "SELECT DISTINCT upstream, repository FROM links WHERE audience IN (\(marks)) ORDER BY upstream, repository",
                arguments: StatementArguments(audiences)
            ).map { RepositoryKey(upstream: $0["upstream"], repository: $0["repository"]) }
        }
    }

    public func tagRecords(upstream: String, repository: String) async throws -> [TagRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT tag, audience, digest, fetched_at FROM tags WHERE upstream = ? AND repository = ? ORDER BY tag, audience",
                arguments: [upstream, repository]
            ).compactMap { row in
                guard let digest = try? Digest(parsing: row["digest"] as String), let audience = row["audience"] as Audience?
                else { return nil }
                return TagRecord(
                    upstream: upstream, repository: repository, tag: row["tag"], digest: digest, fetchedAt: row["fetched_at"],
                    audience: audience)
            }
        }
    }

    public func evict(_ scope: CacheScope, tagLinks: Set<Digest>) async throws -> (tags: Int, unlinked: Set<Digest>) {
        try await pool.write { db in
            // (condition, arguments) selecting the scope's rows of tags, links and referrers.
            var match = "upstream = ?"
            var arguments: [String] = [scope.upstream]
            if let repository = scope.repository {
                match += " AND repository = ?"
                arguments.append(repository.value)
            }
            var unlinked = Set<Digest>()
            if let tag = scope.tag {
                try db.execute(sql: "DELETE FROM tags WHERE \(match) AND tag = ?", arguments: StatementArguments(arguments + [tag.value]))
                let tags = db.changesCount
                for digest in tagLinks {
                    let one = StatementArguments(arguments + [digest.description])
                    try db.execute(sql: "DELETE FROM links WHERE \(match) AND digest = ?", arguments: one)
                    if db.changesCount > 0 { unlinked.insert(digest) }
                    try db.execute(sql: "DELETE FROM referrers WHERE \(match) AND subject = ?", arguments: one)
                }
                return (tags, unlinked)
            }
            let all = StatementArguments(arguments)
            try db.execute(sql: "DELETE FROM tags WHERE \(match)", arguments: all)
            let tags = db.changesCount
            for text in try String.fetchAll(db, sql: "SELECT DISTINCT digest FROM links WHERE \(match)", arguments: all) {
                if let digest = try? Digest(parsing: text) { unlinked.insert(digest) }
            }
            try db.execute(sql: "DELETE FROM links WHERE \(match)", arguments: all)
            try db.execute(sql: "DELETE FROM referrers WHERE \(match)", arguments: all)
            return (tags, unlinked)
        }
    }

    public func isLinked(_ digest: Digest) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM links WHERE digest = ?)", arguments: [digest.description]) ?? false
        }
    }
}
