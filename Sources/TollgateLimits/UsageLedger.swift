import CoreMetrics
import RegistryCore
import Synchronization

/// Per user, day and upstream: requests, pulls and bytes, counted in memory on the hot path and
/// handed to storage in batches by `LimitsService`. Also keeps the per-user metric counters
/// (`tollgate_requests_total{user}`, …), created once per user.
public final class UsageLedger: Sendable {
    struct Key: Hashable {
        var user: String
        var day: Int64
        var upstream: String
    }

    struct Counts {
        var requests: Int64 = 0
        var pulls: Int64 = 0
        var hitBytes: Int64 = 0
        var upstreamBytes: Int64 = 0

        var isZero: Bool { requests == 0 && pulls == 0 && hitBytes == 0 && upstreamBytes == 0 }
    }

    final class Meters: Sendable {
        let requests: Counter
        let pulls: Counter
        let hitBytes: Counter
        let upstreamBytes: Counter
        let limited: [LimitKind: Counter]

        init(user: String, factory: any MetricsFactory) {
            let u = [("user", user)]
            requests = Counter(label: "tollgate_requests_total", dimensions: u, factory: factory)
            pulls = Counter(label: "tollgate_pulls_total", dimensions: u, factory: factory)
            hitBytes = Counter(label: "tollgate_bytes_sent_total", dimensions: u + [("source", "cache")], factory: factory)
            upstreamBytes = Counter(
                label: "tollgate_bytes_sent_total", dimensions: u + [("source", "upstream")], factory: factory)
            var limited: [LimitKind: Counter] = [:]
            for kind in LimitKind.allCases {
                limited[kind] = Counter(
                    label: "tollgate_rate_limited_total", dimensions: u + [("reason", kind.about.reason)], factory: factory)
            }
            self.limited = limited
        }
    }

    struct State {
        var pending: [Key: Counts] = [:]
        var meters: [String: Meters] = [:]
    }

    private let state = Mutex(State())
    private let factory: (any MetricsFactory)?
    let wall: @Sendable () -> Int64

    /// `factory`: where the metric counters go (none: no metrics).
    public init(metrics factory: (any MetricsFactory)?, wall: @escaping @Sendable () -> Int64 = { LimitClock.system.wall() }) {
        self.factory = factory
        self.wall = wall
    }

    /// The metric label for a ledger user.
    public static func label(_ user: String) -> String { user == UsageRecord.anonymousUser ? "(anonymous)" : user }

    public func recordRequest(user name: UserName?, upstream: String, pull: Bool) {
        let user = UsageRecord.user(name)
        let day = floorDiv(wall(), 86400)
        let m = state.withLock { st -> Meters? in
            func count(_ c: inout Counts) {
                c.requests += 1
                if pull { c.pulls += 1 }
            }
            count(&st.pending[Key(user: user, day: day, upstream: upstream), default: Counts()])  // one lookup
            return meters(&st, user)
        }
        m?.requests.increment()
        if pull { m?.pulls.increment() }
    }

    /// Blob bytes sent to a client; `fromCache` false when they were relayed while fetching.
    public func recordBytes(user name: UserName?, upstream: String, bytes: Int64, fromCache: Bool) {
        guard bytes > 0 else { return }
        let user = UsageRecord.user(name)
        let day = floorDiv(wall(), 86400)
        let m = state.withLock { st -> Meters? in
            let key = Key(user: user, day: day, upstream: upstream)
            if fromCache {
                st.pending[key, default: Counts()].hitBytes += bytes
            } else {
                st.pending[key, default: Counts()].upstreamBytes += bytes
            }
            return meters(&st, user)
        }
        (fromCache ? m?.hitBytes : m?.upstreamBytes)?.increment(by: bytes)
    }

    public func recordRefusal(user name: UserName?, kind: LimitKind) {
        let user = UsageRecord.user(name)
        state.withLock { st in meters(&st, user) }?.limited[kind]?.increment()
    }

    private func meters(_ st: inout State, _ user: String) -> Meters? {
        guard let factory else { return nil }
        if let m = st.meters[user] { return m }
        let m = Meters(user: Self.label(user), factory: factory)
        st.meters[user] = m
        return m
    }

    /// Everything counted since the last call, as store rows.
    public func drain() -> [UsageRecord] {
        let pending = state.withLock { st in
            defer { st.pending.removeAll(keepingCapacity: true) }
            return st.pending
        }
        return pending.compactMap { key, c in c.isZero ? nil : Self.record(key, c) }
    }

    /// Puts rows back that could not be stored (they are added to what came in meanwhile).
    public func putBack(_ rows: [UsageRecord]) {
        state.withLock { st in
            for r in rows {
                guard let day = CivilDate(parsing: r.day) else { continue }
                let key = Key(user: r.user, day: day.daysSinceEpoch, upstream: r.upstream)
                var c = st.pending[key, default: Counts()]
                c.requests += r.requests
                c.pulls += r.pulls
                c.hitBytes += r.hitBytes
                c.upstreamBytes += r.upstreamBytes
                st.pending[key] = c
            }
        }
    }

    /// Drops a deleted user's counts not yet stored.
    public func forget(user name: UserName) {
        let user = UsageRecord.user(name)
        state.withLock { st in st.pending = st.pending.filter { $0.key.user != user } }
    }

    /// Not yet stored rows of one user (to add to what the store has).
    public func pending(user name: UserName?) -> [UsageRecord] {
        let user = UsageRecord.user(name)
        return state.withLock { st in st.pending.filter { $0.key.user == user } }.map { Self.record($0.key, $0.value) }
    }

    static func record(_ key: Key, _ c: Counts) -> UsageRecord {
        var r = UsageRecord(user: key.user, day: CivilDate(daysSinceEpoch: key.day).description, upstream: key.upstream)
        r.requests = c.requests
        r.pulls = c.pulls
        r.hitBytes = c.hitBytes
        r.upstreamBytes = c.upstreamBytes
        r.bytesSent = c.hitBytes + c.upstreamBytes
        return r
    }
}
