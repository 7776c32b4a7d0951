/// Usage counts of one user, on one UTC day, for one upstream ("-" for requests that reached no
/// upstream, such as `/v2/`). Anonymous use is recorded under the user "".
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

/// How much of one limit window a subject (`u:<user>` or `ip:<address group>`) has used.
public struct LimitWindowRecord: Sendable, Equatable {
    public var subject: String
    /// The window's kind (`pulls`, `bytes_day`, `bytes_month`).
    public var kind: String
    /// Unix seconds, UTC, where the window began.
    public var start: Int64
    public var used: Int64

    public init(subject: String, kind: String, start: Int64, used: Int64) {
        self.subject = subject
        self.kind = kind
        self.start = start
        self.used = used
    }
}

/// A user's plan, per-limit overrides and access policy. An override of `nil` means "unlimited";
/// a policy list of `nil` means the configured default.
public struct UserSettingsRecord: Sendable, Equatable {
    public var user: String
    public var plan: String?
    /// Limit name (`pulls_per_6h`, …) → value, `nil` = unlimited.
    public var overrides: [String: Int64?]
    /// Globs over `<upstream>/<repository>`.
    public var allow: [String]?
    public var deny: [String]?

    public init(
        user: String, plan: String? = nil, overrides: [String: Int64?] = [:], allow: [String]? = nil,
        deny: [String]? = nil
    ) {
        self.user = user
        self.plan = plan
        self.overrides = overrides
        self.allow = allow
        self.deny = deny
    }

    public var isEmpty: Bool { plan == nil && overrides.isEmpty && allow == nil && deny == nil }
}

/// The durable side of limits and accounting: the usage ledger, limit windows that must survive
/// a restart, and per-user settings the CLI changes while the server runs.
public protocol UsageStore: Sendable {
    /// Adds `usage` to the stored daily rows and replaces the given windows, in one transaction.
    func record(usage: [UsageRecord], windows: [LimitWindowRecord]) async throws
    /// Daily rows from `day` (inclusive, `YYYY-MM-DD`) on, for one user or all.
    func usage(since day: String, user: String?) async throws -> [UsageRecord]
    /// Windows that began at or after `start`.
    func limitWindows(since start: Int64) async throws -> [LimitWindowRecord]
    /// Removes windows that began before `start`.
    func pruneLimitWindows(before start: Int64) async throws

    func userSettings() async throws -> [UserSettingsRecord]
    /// Stores (or, when empty, removes) a user's settings and bumps the settings version.
    func putUserSettings(_ settings: UserSettingsRecord) async throws
    /// Grows with every settings change, from any process: a server polls it to reload.
    func settingsVersion() async throws -> Int64
}
