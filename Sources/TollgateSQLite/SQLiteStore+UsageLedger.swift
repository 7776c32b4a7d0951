import Foundation
import GRDB
import TollgateLimits

extension SQLiteStore: UsageLedgerStore {
    public func addUsage(_ usage: [UsageRecord]) async throws {
        guard !usage.isEmpty else { return }
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
}
