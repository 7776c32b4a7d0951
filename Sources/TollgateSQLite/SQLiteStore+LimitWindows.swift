import Foundation
import GRDB
import TollgateLimits

extension SQLiteStore: LimitWindowStore {
    public func saveLimitWindows(_ windows: [LimitWindowRecord]) async throws {
        guard !windows.isEmpty else { return }
        try await pool.write { db in
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
}
