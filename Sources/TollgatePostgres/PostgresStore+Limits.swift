import Foundation
import PostgresNIO
import RegistryCore
import TollgateLimits

extension PostgresStore: UsageLedgerStore {
    public func addUsage(_ usage: [UsageRecord]) async throws {
        guard !usage.isEmpty else { return }
        try await client.withTransaction(logger: logger) { [logger] c in
            for u in usage {
                try await c.query(
                    """
                    INSERT INTO usage_daily (user_name, day, upstream, requests, pulls, bytes_sent, hit_bytes, upstream_bytes)
                    VALUES (\(u.user), \(u.day), \(u.upstream), \(u.requests), \(u.pulls), \(u.bytesSent), \(u.hitBytes),
                        \(u.upstreamBytes))
                    ON CONFLICT (user_name, day, upstream) DO UPDATE SET
                        requests = usage_daily.requests + excluded.requests, pulls = usage_daily.pulls + excluded.pulls,
                        bytes_sent = usage_daily.bytes_sent + excluded.bytes_sent,
                        hit_bytes = usage_daily.hit_bytes + excluded.hit_bytes,
                        upstream_bytes = usage_daily.upstream_bytes + excluded.upstream_bytes
                    """, logger: logger)
            }
        }
    }

    public func usageTotals(since day: String, today: String) async throws -> [UsageTotals] {
        var result: [UsageTotals] = []
        for try await (user, pulls, bytes, seen) in try await client.query(
            """
            SELECT user_name, coalesce(sum(CASE WHEN day = \(today) THEN pulls ELSE 0 END), 0)::bigint,
                coalesce(sum(bytes_sent), 0)::bigint, max(CASE WHEN requests > 0 THEN day END)
            FROM usage_daily WHERE day >= \(day) GROUP BY user_name ORDER BY user_name
            """, logger: logger
        ).decode((String, Int64, Int64, String?).self) {
            result.append(UsageTotals(user: user, pullsToday: pulls, bytesSent: bytes, lastSeen: seen))
        }
        return result
    }

    public func usage(since day: String, user: String?) async throws -> [UsageRecord] {
        let columns = "user_name, day, upstream, requests, pulls, bytes_sent, hit_bytes, upstream_bytes"
        let rows =
            if let user {
                try await client.query(
                    """
                    SELECT \(unescaped: columns) FROM usage_daily WHERE day >= \(day) AND user_name = \(user)
                    ORDER BY user_name, day, upstream
                    """, logger: logger)
            } else {
                try await client.query(
                    "SELECT \(unescaped: columns) FROM usage_daily WHERE day >= \(day) ORDER BY user_name, day, upstream",
                    logger: logger)
            }
        var result: [UsageRecord] = []
        for try await (user, day, upstream, requests, pulls, sent, hit, fromUpstream) in rows.decode(
            (String, String, String, Int64, Int64, Int64, Int64, Int64).self)
        {
            var r = UsageRecord(user: user, day: day, upstream: upstream)
            r.requests = requests
            r.pulls = pulls
            r.bytesSent = sent
            r.hitBytes = hit
            r.upstreamBytes = fromUpstream
            result.append(r)
        }
        return result
    }
}

extension PostgresStore: LimitWindowStore {
    public func saveLimitWindows(_ windows: [LimitWindowRecord]) async throws {
        guard !windows.isEmpty else { return }
        try await client.withTransaction(logger: logger) { [logger] c in
            for w in windows {
                try await c.query(
                    """
                    INSERT INTO limit_windows (subject, kind, start, used) VALUES (\(w.subject), \(w.kind), \(w.start), \(w.used))
                    ON CONFLICT (subject, kind) DO UPDATE SET start = excluded.start, used = excluded.used
                    """, logger: logger)
            }
        }
    }

    public func limitWindows(since start: Int64) async throws -> [LimitWindowRecord] {
        var result: [LimitWindowRecord] = []
        for try await (subject, kind, start, used) in try await client.query(
            "SELECT subject, kind, start, used FROM limit_windows WHERE start >= \(start)", logger: logger
        ).decode((String, String, Int64, Int64).self) {
            result.append(LimitWindowRecord(subject: subject, kind: kind, start: start, used: used))
        }
        return result
    }

    public func pruneLimitWindows(before start: Int64) async throws {
        try await client.query("DELETE FROM limit_windows WHERE start < \(start)", logger: logger)
    }
}

extension PostgresStore: UserSettingsStore {
    public func userSettings() async throws -> [UserSettingsRecord] {
        var result: [UserSettingsRecord] = []
        for try await (user, plan, overrides, allow, deny, role, expires) in try await client.query(
            "SELECT user_name, plan, overrides, allow, deny, role, expires FROM user_settings ORDER BY user_name", logger: logger
        ).decode((String, String?, String, String?, String?, String?, String?).self) {
            result.append(
                UserSettingsRecord(
                    user: user, plan: plan, overrides: SettingsJSON.decodeOverrides(overrides),
                    allow: SettingsJSON.decodeList(allow), deny: SettingsJSON.decodeList(deny), role: role, expires: expires))
        }
        return result
    }

    public func putUserSettings(_ s: UserSettingsRecord) async throws {
        try await client.withTransaction(logger: logger) { [logger] c in
            if s.isEmpty {
                try await c.query("DELETE FROM user_settings WHERE user_name = \(s.user)", logger: logger)
            } else {
                try await c.query(
                    """
                    INSERT INTO user_settings (user_name, plan, overrides, allow, deny, role, expires, updated_at)
                    VALUES (\(s.user), \(s.plan), \(SettingsJSON.encodeOverrides(s.overrides)), \(s.allow.map(SettingsJSON.encodeList)),
                        \(s.deny.map(SettingsJSON.encodeList)), \(s.role), \(s.expires), \(Date().timeIntervalSince1970))
                    ON CONFLICT (user_name) DO UPDATE SET
                        plan = excluded.plan, overrides = excluded.overrides, allow = excluded.allow, deny = excluded.deny,
                        role = excluded.role, expires = excluded.expires, updated_at = excluded.updated_at
                    """, logger: logger)
            }
            try await Self.bumpSettingsVersion(c, logger)
        }
    }

    public func settingsVersion() async throws -> Int64 {
        var version: Int64 = 0
        for try await v in try await client.query("SELECT version FROM settings_version WHERE id = 1", logger: logger)
            .decode(Int64.self) { version = v }
        return version
    }
}
