import Foundation
import TollgateCluster
import TollgateLimits

/// The cluster's counters in memory, with the PostgreSQL adapter's semantics (the store's clock
/// is the process's wall clock).
extension InMemoryDatabase: SharedLimitStore {
    public func charge(subject: String, windows: [SharedWindow], amount: Int64) async throws -> SharedChargeOutcome {
        try locked { state in
            let stored = state.windows(subject)
            for (i, w) in windows.enumerated() {
                guard let max = w.limit else { continue }
                let used = w.count(in: stored)
                if used >= max || used + amount > max { return .refused(index: i, used: used) }
            }
            return .counted(windows.map { state.add(subject, $0, amount) })
        }
    }

    public func chargeUpTo(subject: String, window: SharedWindow, want: Int64) async throws -> (granted: Int64, used: Int64) {
        try locked { state in
            let used = window.count(in: state.windows(subject))
            let granted = max(0, min(want, (window.limit ?? Int64.max) - used))
            return (granted, state.add(subject, window, granted))
        }
    }

    public func refund(subject: String, windows: [SharedWindow], amount: Int64) async throws {
        try locked { state in
            for w in windows {
                let key = LimitWindowKey(subject: subject, kind: w.kind)
                guard var r = state.limitWindows[key], r.start == w.start else { continue }
                r.used = max(0, r.used - amount)
                state.limitWindows[key] = r
            }
        }
    }

    public func reserveTransfer(_ t: SharedTransfer, maxActive: Int64?, windows: [SharedWindow]) async throws
        -> SharedTransferOutcome
    {
        try locked { state in
            let mine = state.transfers.values.filter { $0.subject == t.subject }
            let active = Int64(mine.count), reserved = mine.reduce(0) { $0 + $1.bytes }
            if let maxActive, active >= maxActive { return .tooMany(active: active) }
            let stored = state.windows(t.subject)
            for (i, w) in windows.enumerated() {
                guard let max = w.limit else { continue }
                let used = w.count(in: stored) + reserved
                if used >= max || (t.bytes > 0 && used + t.bytes > max) { return .refused(index: i, used: used) }
            }
            state.transfers[t.id] = t
            return .reserved(windows.map { $0.count(in: stored) })
        }
    }

    @discardableResult
    public func finishTransfer(id: String, subject: String, windows: [SharedWindow], sent: Int64) async throws -> [Int64] {
        try locked { state in
            state.transfers[id] = nil
            guard sent > 0 else { return [] }
            return windows.map { state.add(subject, $0, sent) }
        }
    }

    public func releaseTransfers(node: String) async throws -> Int {
        try locked { state in
            let gone = state.transfers.filter { $0.value.node == node }.keys
            for id in gone { state.transfers[id] = nil }
            return gone.count
        }
    }

    public func transfers(subject: String) async throws -> (active: Int64, reservedBytes: Int64) {
        try locked { state in
            let mine = state.transfers.values.filter { $0.subject == subject }
            return (Int64(mine.count), mine.reduce(0) { $0 + $1.bytes })
        }
    }

    public func windows(subject: String) async throws -> [LimitWindowRecord] {
        try locked { $0.windows(subject) }
    }

    public func leaseRequests(subject: String, capacity: Int64, perSecond: Double, want: Int64) async throws
        -> SharedRequestLease
    {
        let now = Date().timeIntervalSince1970
        return try locked { state in
            let b = state.buckets[subject] ?? (Double(capacity), now)
            var tokens = min(Double(capacity), b.tokens + max(0, now - b.updated) * perSecond)
            let granted = max(0, min(want, Int64(tokens.rounded(.down))))
            tokens -= Double(granted)
            state.buckets[subject] = (tokens, now)
            let wait = granted > 0 ? 0 : (perSecond <= 0 ? 60 : (1 - tokens) / perSecond)
            return SharedRequestLease(granted: granted, waitSeconds: wait)
        }
    }

    public func returnRequests(subject: String, capacity: Int64, count: Int64) async throws {
        try locked { state in
            guard let b = state.buckets[subject] else { return }
            state.buckets[subject] = (min(Double(capacity), b.tokens + Double(count)), b.updated)
        }
    }

    public func requestTokens(subject: String, capacity: Int64, perSecond: Double) async throws -> Double {
        let now = Date().timeIntervalSince1970
        return try locked { state in
            guard let b = state.buckets[subject] else { return Double(capacity) }
            return min(Double(capacity), b.tokens + max(0, now - b.updated) * perSecond)
        }
    }
}

extension InMemoryDatabase: NodeStore {
    public func heartbeat(_ node: NodeRecord, deadAfter: Double) async throws -> [NodeRecord] {
        let now = Date().timeIntervalSince1970
        return try locked { state in
            state.nodes[node.name] = (node.url, now)
            let dead = Set(state.nodes.filter { now - $0.value.heartbeat > deadAfter }.keys)
            state.transfers = state.transfers.filter { !dead.contains($0.value.node) && state.nodes[$0.value.node] != nil }
            return state.nodes.filter { !dead.contains($0.key) }.map { NodeRecord(name: $0.key, url: $0.value.url) }
                .sorted { $0.name < $1.name }
        }
    }

    public func leave(node: String) async throws {
        try locked { state in state.nodes[node] = nil }
    }
}

extension InMemoryDatabase.State {
    func windows(_ subject: String) -> [LimitWindowRecord] {
        limitWindows.values.filter { $0.subject == subject }.sorted { $0.kind < $1.kind }
    }

    /// Adds by the window rules (a later start starts over; an earlier one counts in the stored).
    mutating func add(_ subject: String, _ w: SharedWindow, _ amount: Int64) -> Int64 {
        let key = LimitWindowKey(subject: subject, kind: w.kind)
        var r = limitWindows[key] ?? LimitWindowRecord(subject: subject, kind: w.kind, start: w.start, used: 0)
        if w.start > r.start {
            r.start = w.start
            r.used = 0
        }
        r.used += amount
        limitWindows[key] = r
        return r.used
    }
}
