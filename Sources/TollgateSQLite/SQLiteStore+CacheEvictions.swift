import Foundation
import GRDB
import TollgateAdmin

/// The eviction log of one server (and the CLI beside it).
extension SQLiteStore: CacheEvictionStore {
    public func appendEviction(scope: String, digests: [String], actor: String, at: Date) async throws -> Int64 {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO cache_evictions (scope, digests, actor, at) VALUES (?, ?, ?, ?)",
                arguments: [scope, digests.joined(separator: " "), actor, at.timeIntervalSince1970])
            let id = db.lastInsertedRowID
            try db.execute(sql: "UPDATE settings_version SET version = version + 1 WHERE id = 1")
            return id
        }
    }

    public func evictions(after id: Int64) async throws -> [EvictionOrder] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT id, scope, digests, actor, at FROM cache_evictions WHERE id > ? ORDER BY id", arguments: [id]
            ).map { row in
                EvictionOrder(
                    id: row["id"], scope: row["scope"], digests: (row["digests"] as String).split(separator: " ").map(String.init),
                    actor: row["actor"], at: Date(timeIntervalSince1970: row["at"]))
            }
        }
    }

    public func latestEviction() async throws -> Int64 {
        try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM cache_evictions") ?? 0 }
    }
}
