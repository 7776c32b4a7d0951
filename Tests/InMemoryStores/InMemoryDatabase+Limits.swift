import TollgateLimits

extension InMemoryDatabase: UsageLedgerStore {
    public func addUsage(_ usage: [UsageRecord]) async throws {
        try locked { state in
            for u in usage {
                let key = UsageKey(user: u.user, day: u.day, upstream: u.upstream)
                var row = state.usage[key] ?? UsageRecord(user: u.user, day: u.day, upstream: u.upstream)
                row.add(u)
                state.usage[key] = row
            }
        }
    }

    public func usage(since day: String, user: String?) async throws -> [UsageRecord] {
        try locked { state in
            state.usage.values.filter { !String.sqliteOrder($0.day, day) && (user == nil || $0.user == user) }.sorted {
                sqliteOrder([$0.user, $0.day, $0.upstream], [$1.user, $1.day, $1.upstream])
            }
        }
    }
}

extension InMemoryDatabase {
    public func usageTotals(since day: String, today: String) async throws -> [UsageTotals] {
        let rows = try await usage(since: day, user: nil)
        var totals: [String: UsageTotals] = [:]
        for r in rows {
            var t = totals[r.user] ?? UsageTotals(user: r.user, pullsToday: 0, bytesSent: 0, lastSeen: nil)
            if r.day == today { t.pullsToday += r.pulls }
            t.bytesSent += r.bytesSent
            if r.requests > 0, t.lastSeen.map({ $0 < r.day }) ?? true { t.lastSeen = r.day }
            totals[r.user] = t
        }
        return totals.values.sorted { String.sqliteOrder($0.user, $1.user) }
    }
}

extension InMemoryDatabase: LimitWindowStore {
    public func saveLimitWindows(_ windows: [LimitWindowRecord]) async throws {
        try locked { state in
            for w in windows { state.limitWindows[LimitWindowKey(subject: w.subject, kind: w.kind)] = w }
        }
    }

    /// In SQLite's table order (subject, kind); the port promises none.
    public func limitWindows(since start: Int64) async throws -> [LimitWindowRecord] {
        try locked { state in
            state.limitWindows.values.filter { $0.start >= start }.sorted {
                sqliteOrder([$0.subject, $0.kind], [$1.subject, $1.kind])
            }
        }
    }

    public func pruneLimitWindows(before start: Int64) async throws {
        try locked { state in state.limitWindows = state.limitWindows.filter { $0.value.start >= start } }
    }
}

extension InMemoryDatabase: UserSettingsStore {
    public func userSettings() async throws -> [UserSettingsRecord] {
        try locked { state in state.settings.values.sorted { String.sqliteOrder($0.user, $1.user) } }
    }

    public func putUserSettings(_ s: UserSettingsRecord) async throws {
        try locked { state in
            state.settings[s.user] = s.isEmpty ? nil : s
            state.bumpSettingsVersion()
        }
    }

    public func settingsVersion() async throws -> Int64 {
        try locked { $0.settingsVersion }
    }
}
