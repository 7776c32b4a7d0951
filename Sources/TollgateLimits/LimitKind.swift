import Foundation

/// The kinds of limit a plan can set. Each is described once, in `described` below: everything
/// else — configuration and `user set` parsing and their errors, the limiter's windows, stored
/// window records, refusal messages, metrics labels, `/usage` and `tollgate usage` — is derived
/// from those descriptions. The raw value is the kind's place in arrays indexed by kind.
public enum LimitKind: Int, Sendable, CaseIterable, Hashable {
    case requestsPerMinute
    case pullsPer6h
    case bytesPerDay
    case bytesPerMonth
    case concurrentTransfers

    /// The one description of each kind (see `LimitDescription`).
    private var described: LimitDescription {
        switch self {
        case .requestsPerMinute:
            LimitDescription(
                key: "requests_per_minute", unit: .count, counts: .requests, span: .bucket(seconds: 60),
                reason: "requests", help: "Requests per minute (token bucket).",
                refusal: "request rate limit reached", figure: "requests per minute")
        case .pullsPer6h:
            LimitDescription(
                key: "pulls_per_6h", unit: .count, counts: .pulls,
                span: .window(.sixHours, stored: "pulls", column: "PULLS/6H"),
                reason: "pulls", help: "Manifest GETs per 6-hour window.",
                refusal: "pull rate limit reached", figure: "pulls per 6 hours", advertised: true)
        case .bytesPerDay:
            LimitDescription(
                key: "bytes_per_day", unit: .bytes, counts: .blobBytes,
                span: .window(.day, stored: "bytes_day", column: "TODAY"),
                reason: "bytes_day", help: "Blob bytes per UTC day.",
                refusal: "daily transfer quota reached")
        case .bytesPerMonth:
            LimitDescription(
                key: "bytes_per_month", unit: .bytes, counts: .blobBytes,
                span: .window(.month, stored: "bytes_month", column: "MONTH"),
                reason: "bytes_month", help: "Blob bytes per UTC month.",
                refusal: "monthly transfer quota reached")
        case .concurrentTransfers:
            LimitDescription(
                key: "concurrent_transfers", unit: .count, counts: .transfers, span: .concurrent,
                reason: "concurrent_transfers", help: "Simultaneous blob downloads.",
                refusal: "too many simultaneous downloads", figure: "allowed")
        }
    }
}

/// Everything about one limit kind.
public struct LimitDescription: Sendable {
    /// The configuration key (`plans.<name>.<key>`), the stored override's name, the key in
    /// `/usage` and `tollgate usage --json`, and the refusal's `detail`.
    public let key: String
    public let unit: LimitUnit
    /// What the limit counts, and so which hook of the limiter enforces it.
    public let counts: LimitCounted
    public let span: LimitSpan
    /// The `reason` label of `tollgate_rate_limited_total`.
    public let reason: String
    /// `tollgate user set --<flag>`'s help.
    public let help: String
    /// The start of the 429 message (`pull rate limit reached`).
    public let refusal: String
    /// What a count limit's figure is, in the 429 message (`3 pulls per 6 hours`); unused for sizes.
    public let figure: String
    /// Whether responses show this limit in `RateLimit-Limit`/`-Remaining` (Docker Hub's pull
    /// limit headers; one windowed kind at most).
    public let advertised: Bool

    init(
        key: String, unit: LimitUnit, counts: LimitCounted, span: LimitSpan, reason: String, help: String,
        refusal: String, figure: String = "", advertised: Bool = false
    ) {
        self.key = key
        self.unit = unit
        self.counts = counts
        self.span = span
        self.reason = reason
        self.help = help
        self.refusal = refusal
        self.figure = figure
        self.advertised = advertised
    }

    /// `tollgate user set`'s option: `--pulls-per-6h`.
    public var flag: String { String(key.map { $0 == "_" ? "-" : $0 }) }
}

/// How a limit's figures are written.
public enum LimitUnit: Sendable, Equatable {
    /// A whole number ≥ 0.
    case count
    /// A size (`500MB`, `20GiB`, or plain bytes).
    case bytes

    /// What a value must be, for `user set`'s errors.
    public var expected: String { self == .bytes ? "a size such as 500MB or 20GiB" : "a whole number ≥ 0" }

    /// The configuration's problem with a value that is not one.
    public var configProblem: String {
        self == .bytes ? "not a size (examples: 500MB, 20GiB) or unlimited" : "expected a whole number ≥ 0 or unlimited"
    }

    /// A figure for people: `20 GiB`, `200`.
    public func format(_ n: Int64) -> String { self == .bytes ? ByteCount.format(n) : String(n) }

    /// A figure as people write it (`500MB`, `200`); nil when it is not one.
    public func parse(_ s: String) -> Int64? {
        if self == .bytes { return ByteCount.parse(s) }
        guard let v = Int64(s.trimmingCharacters(in: .whitespaces)), v >= 0 else { return nil }
        return v
    }

    /// A user's override as `user set` and the console take it: a figure, or `unlimited`
    /// (`.some(nil)`); nil when it is neither.
    public func parseOverride(_ s: String) -> Int64?? {
        if s.trimmingCharacters(in: .whitespaces) == "unlimited" { return .some(nil) }
        return parse(s).map { .some($0) }
    }
}

/// What a limit counts; each is counted by one hook of `RateLimiter`.
public enum LimitCounted: Sendable, Equatable {
    /// Every request (`admit`).
    case requests
    /// Manifest GETs and charged HEADs (`admit(pull: true)`, refunded when not served).
    case pulls
    /// Blob bytes sent (reserved at `beginTransfer`, counted at its finish).
    case blobBytes
    /// Blob downloads in progress (`beginTransfer` … finish).
    case transfers
}

/// Over what a limit's figure applies. The limiter enforces requests with a bucket, pulls and
/// blob bytes with windows, transfers concurrently (`LimitKind.isEnforceable`).
public enum LimitSpan: Sendable, Equatable {
    /// A token bucket of the figure, refilled over `seconds`.
    case bucket(seconds: Int64)
    /// A fixed UTC window, stored as `stored` (`limit_windows.kind`), shown in `tollgate usage`'s
    /// table under `column`.
    case window(WindowPeriod, stored: String, column: String)
    /// At the same time.
    case concurrent
}

extension LimitKind {
    /// This kind's description.
    @inline(__always)
    public var about: LimitDescription { Self.descriptions[rawValue] }

    /// The configuration key (see `LimitDescription.key`).
    public var key: String { about.key }

    /// The kind with this configuration key / stored override name; nil when no kind has it.
    public init?(key: String) {
        guard let kind = Self.allCases.first(where: { $0.about.key == key }) else { return nil }
        self = kind
    }

    /// The windowed kind stored under this name (`limit_windows.kind`); nil when none is.
    public init?(storedWindow name: String) {
        guard let kind = Self.windowed.first(where: { $0.storedWindow == name }) else { return nil }
        self = kind
    }

    /// The window's period, for windowed kinds.
    public var period: WindowPeriod? {
        if case .window(let period, _, _) = about.span { period } else { nil }
    }

    /// The name stored windows of this kind have, for windowed kinds.
    public var storedWindow: String? {
        if case .window(_, let stored, _) = about.span { stored } else { nil }
    }

    /// The column of `tollgate usage`'s table, for windowed kinds.
    public var column: String? {
        if case .window(_, _, let column) = about.span { column } else { nil }
    }

    /// This kind's index in arrays of windows (`LimitStatus.windows`, the limiter's), for
    /// windowed kinds.
    @inline(__always)
    public var windowSlot: Int? { Self.windowSlots[rawValue] }

    /// The kinds counted in fixed windows, in slot order.
    public static let windowed: [LimitKind] = allCases.filter { $0.period != nil }

    /// The kind shown in `RateLimit-Limit`/`-Remaining`, if any.
    public static let advertised: LimitKind? = windowed.first { $0.about.advertised }

    /// Whether the limiter has a hook for what this kind counts over its span.
    public var isEnforceable: Bool {
        switch (about.counts, about.span) {
        case (.requests, .bucket), (.pulls, .window), (.blobBytes, .window), (.transfers, .concurrent): true
        default: false
        }
    }

    static let descriptions: [LimitDescription] = allCases.map(\.described)
    private static let windowSlots: [Int?] = allCases.map { kind in windowed.firstIndex(of: kind) }
}
