import Foundation
import GRDB
import RegistryCore

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
