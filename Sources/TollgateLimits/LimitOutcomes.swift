import RegistryCore

/// A request refused by a limit.
public struct LimitExceeded: Error, Sendable, Equatable {
    public var kind: LimitKind
    public var plan: String
    public var limit: Int64
    /// Seconds until the request can succeed (`Retry-After`).
    public var retryAfter: Int64
    /// Unix seconds when the window resets, for window limits.
    public var resetsAt: Int64?
    /// For window limits: what is used (for byte quotas including transfers in flight) and what
    /// this request needs.
    public var used: Int64 = 0
    public var needed: Int64 = 0

    /// Worded from the kind's description: what was reached, where the subject stands, and when
    /// to retry.
    public var message: String {
        let about = kind.about
        let standing =
            about.unit == .bytes
            ? "\(ByteCount.format(used)) of \(ByteCount.format(limit)) used" : "\(limit) \(about.figure)"
        let blob = about.counts == .blobBytes && needed > 0 ? ", this blob needs \(ByteCount.format(needed))" : ""
        let retry: String
        switch about.span {
        case .bucket: retry = "retry in \(retryAfter) s"
        case .window:
            retry = "resets in \(Self.interval(retryAfter))" + (resetsAt.map { " at \(CivilDate.timestamp($0))" } ?? "")
        case .concurrent: retry = "retry when one finishes"
        }
        return "\(about.refusal): \(standing) (plan \(plan))\(blob); \(retry)"
    }

    /// The registry's `TOOMANYREQUESTS` error with `Retry-After`.
    public var registryError: RegistryError {
        RegistryError(.tooManyRequests, message, detail: kind.key, retryAfter: Int(clamping: retryAfter))
    }

    /// `2 h 38 min`.
    static func interval(_ s: Int64) -> String {
        if s < 120 { return "\(s) s" }
        if s < 7200 { return "\(s / 60) min" }
        if s < 2 * 86400 { return "\(s / 3600) h \(s / 60 % 60) min" }
        return "\(s / 86400) d \(s / 3600 % 24) h"
    }
}

/// What an admitted request may tell the client about its pull limit.
public struct Admission: Sendable, Equatable {
    /// `RateLimit-Limit` value, when the subject has a pull limit.
    public var pullLimitHeader: String?
    public var pullsRemaining: Int64
}

/// Where a subject stands, for `/usage`.
public struct LimitStatus: Sendable, Equatable {
    public struct Window: Sendable, Equatable {
        public var start: Int64
        public var used: Int64
        public var secondsLeft: Int64

        public init(start: Int64, used: Int64, secondsLeft: Int64) {
            self.start = start
            self.used = used
            self.secondsLeft = secondsLeft
        }
    }
    public var limits: EffectiveLimits
    /// The current window of each windowed limit kind, at its `windowSlot`.
    public var windows: [Window]
    /// Whole request tokens left (the full per-minute figure when unlimited).
    public var requestsRemaining: Int64?
    public var activeTransfers: Int64
    /// Bytes reserved by transfers in flight.
    public var reservedBytes: Int64

    public init(
        limits: EffectiveLimits, windows: [Window], requestsRemaining: Int64?, activeTransfers: Int64, reservedBytes: Int64
    ) {
        self.limits = limits
        self.windows = windows
        self.requestsRemaining = requestsRemaining
        self.activeTransfers = activeTransfers
        self.reservedBytes = reservedBytes
    }

    /// The current window of a windowed limit kind (nil for the others).
    public subscript(window kind: LimitKind) -> Window? { kind.windowSlot.map { windows[$0] } }

    // Shorthands for the windowed kinds callers name.
    public var pulls: Window { self[window: .pullsPer6h]! }
    public var bytesDay: Window { self[window: .bytesPerDay]! }
    public var bytesMonth: Window { self[window: .bytesPerMonth]! }
}
