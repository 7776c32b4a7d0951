import RegistryCore

/// Usage counts of one user, on one UTC day, for one upstream ("-" for requests that reached no
/// upstream, such as `/v2/`). Anonymous use is recorded under `UsageRecord.anonymousUser`.
public struct UsageRecord: Sendable, Equatable {
    public var user: String
    /// `YYYY-MM-DD`, UTC.
    public var day: String
    public var upstream: String
    public var requests: Int64 = 0
    public var pulls: Int64 = 0
    /// Blob bytes sent to the client.
    public var bytesSent: Int64 = 0
    /// Of those, bytes served from the cache and bytes relayed from upstream while fetching.
    public var hitBytes: Int64 = 0
    public var upstreamBytes: Int64 = 0

    public init(user: String, day: String, upstream: String) {
        self.user = user
        self.day = day
        self.upstream = upstream
    }

    public mutating func add(_ o: UsageRecord) {
        requests += o.requests
        pulls += o.pulls
        bytesSent += o.bytesSent
        hitBytes += o.hitBytes
        upstreamBytes += o.upstreamBytes
    }
}

extension UsageRecord {
    /// The `user` anonymous use is recorded under.
    public static let anonymousUser = ""

    /// The `user` of `name`'s rows (anonymous: nil).
    public static func user(_ name: UserName?) -> String { name?.value ?? anonymousUser }

    /// Adds up rows with the same user, day and upstream.
    public static func merge(_ rows: [UsageRecord]) -> [UsageRecord] {
        var byKey: [String: UsageRecord] = [:]
        var order: [String] = []
        for r in rows {
            let key = "\(r.user)\u{0}\(r.day)\u{0}\(r.upstream)"
            if byKey[key] == nil {
                order.append(key)
                byKey[key] = UsageRecord(user: r.user, day: r.day, upstream: r.upstream)
            }
            byKey[key]!.add(r)
        }
        return order.map { byKey[$0]! }.sorted { ($0.user, $0.day, $0.upstream) < ($1.user, $1.day, $1.upstream) }
    }

    /// The sum of `rows`, as one row of `user`.
    public static func total(_ rows: [UsageRecord], user: String = "") -> UsageRecord {
        var t = UsageRecord(user: user, day: "", upstream: "")
        for r in rows { t.add(r) }
        return t
    }
}

/// One user's use from some day on, summed by the store (the admin's user list: one row per user,
/// not per day and upstream).
public struct UsageTotals: Sendable, Equatable {
    public var user: String
    /// Pulls on the day given as today.
    public var pullsToday: Int64
    public var bytesSent: Int64
    /// The last day with a request (nil: none in the span).
    public var lastSeen: String?

    public init(user: String, pullsToday: Int64, bytesSent: Int64, lastSeen: String?) {
        self.user = user
        self.pullsToday = pullsToday
        self.bytesSent = bytesSent
        self.lastSeen = lastSeen
    }
}

/// The usage ledger's storage (limits): per user, UTC day and upstream, counts only ever added to.
public protocol UsageLedgerStore: Sendable {
    /// Adds `usage` to the stored daily rows, in one transaction.
    func addUsage(_ usage: [UsageRecord]) async throws
    /// Daily rows from `day` (inclusive, `YYYY-MM-DD`) on, for one user or all, ordered by user, day, upstream.
    func usage(since day: String, user: String?) async throws -> [UsageRecord]
    /// Every user with rows from `day` on: their pulls on `today`, bytes sent since `day`, and the
    /// last day with a request; ordered by user.
    func usageTotals(since day: String, today: String) async throws -> [UsageTotals]
}
