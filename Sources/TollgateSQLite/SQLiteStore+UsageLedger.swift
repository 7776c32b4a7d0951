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

    public func usageTotals(since day: String, today: String) async throws -> [UsageTotals] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT user, sum(CASE WHEN day = ? THEN pulls ELSE 0 END), sum(bytes_sent),
                        max(CASE WHEN requests > 0 THEN day END)
                    FROM usage_daily WHERE day >= ? GROUP BY user ORDER BY user
                    """,
                arguments: [today, day]
            ).map { row in UsageTotals(user: row[0], pullsToday: row[1], bytesSent: row[2], lastSeen: row[3]) }
        }
    }

    static let usageColumns = "user, day, upstream, requests, pulls, bytes_sent, hit_bytes, upstream_bytes"

    public func usage(since day: String, user: String?) async throws -> [UsageRecord] {
        try await pool.read { db in
            let rows =
                if let user {
                    try Row.fetchAll(
                        db, sql: "SELECT \(Self.usageColumns) FROM usage_daily WHERE day >= ? AND user = ? ORDER BY user, day, upstream",
                        arguments: [day, user])
                } else {
                    try Row.fetchAll(
                        db, sql: "SELECT \(Self.usageColumns) FROM usage_daily WHERE day >= ? ORDER BY user, day, upstream",
                        arguments: [day])
                }
            // By position (`usageColumns`): a month of 10,000 users is 10,000 rows.
            return rows.map { row in
                var r = UsageRecord(user: row[0], day: row[1], upstream: row[2])
                r.requests = row[3]
                r.pulls = row[4]
                r.bytesSent = row[5]
                r.hitBytes = row[6]
                r.upstreamBytes = row[7]
                return r
            }
        }
    }
}
