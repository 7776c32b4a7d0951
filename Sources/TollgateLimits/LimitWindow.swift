import RegistryCore

/// Fixed windows aligned to UTC wall-clock boundaries: 00:00/06:00/12:00/18:00, midnight, the
/// first of the month. (Which limit kind counts in which period, and the names stored windows
/// have, is in the kinds' descriptions: `LimitKind`.)
public enum WindowPeriod: Sendable, CaseIterable {
    case sixHours
    case day
    case month

    public var seconds: Int64 {
        switch self {
        case .sixHours: 6 * 3600
        case .day: 86400
        case .month: 31 * 86400  // the longest; only used as an upper bound
        }
    }

    /// Start of the window that contains `t` (unix seconds).
    public func start(containing t: Int64) -> Int64 {
        switch self {
        case .sixHours, .day: return floorDiv(t, seconds) * seconds
        case .month:
            let d = CivilDate(daysSinceEpoch: floorDiv(t, 86400))
            return CivilDate(year: d.year, month: d.month, day: 1).daysSinceEpoch * 86400
        }
    }

    /// Start of the window after the one starting at `start`.
    public func next(after start: Int64) -> Int64 {
        switch self {
        case .sixHours, .day: return start + seconds
        case .month:
            let d = CivilDate(daysSinceEpoch: floorDiv(start, 86400))
            let (y, m) = d.month == 12 ? (d.year + 1, 1) : (d.year, d.month + 1)
            return CivilDate(year: y, month: m, day: 1).daysSinceEpoch * 86400
        }
    }
}

/// A count within a fixed window. Which window a count belongs to comes from the wall clock,
/// but how long a window lasts is measured on the monotonic clock: a wall clock stepped forward
/// or back neither resets a window early nor stretches it, and a clock running backwards grants
/// nothing. (A window ends after its remaining length has really elapsed; the next one is
/// aligned to the wall clock again.)
public struct LimitWindow: Sendable, Equatable {
    public let period: WindowPeriod
    /// Unix seconds where this window began (a label, for storage and reports).
    public private(set) var start: Int64
    public private(set) var used: Int64
    /// Monotonic nanoseconds left in this window, as of `observed`.
    private var remaining: UInt64
    private var observed: UInt64

    /// `wallNanos`: the wall clock in nanoseconds since 1970 (the window's remaining time is
    /// measured from it to the nanosecond, so a reset is not a second late).
    public init(
        period: WindowPeriod, wallNanos: Int64, monotonic: UInt64, restoring stored: (start: Int64, used: Int64)? = nil
    ) {
        self.period = period
        let start = period.start(containing: floorDiv(wallNanos, 1_000_000_000))
        self.start = start
        self.used = stored.flatMap { $0.start == start ? $0.used : nil } ?? 0
        self.observed = monotonic
        self.remaining = Self.nanos(until: period.next(after: start), from: wallNanos, period: period)
    }

    /// Where this window ends, as a wall-clock label (unix seconds).
    public var end: Int64 { period.next(after: start) }

    /// Moves to the current window if this one has elapsed.
    public mutating func advance(wallNanos: Int64, monotonic: UInt64) {
        let wall = floorDiv(wallNanos, 1_000_000_000)
        let elapsed = monotonic >= observed ? monotonic - observed : 0
        observed = monotonic
        if elapsed < remaining {
            remaining -= elapsed
            return
        }
        var next = period.start(containing: wall)
        if next <= start { next = period.next(after: start) }  // wall clock behind: labels still move forward
        start = next
        used = 0
        remaining = Self.nanos(until: period.next(after: next), from: wallNanos, period: period)
    }

    /// Seconds until this window ends (at least 1).
    public var secondsLeft: Int64 { max(1, Int64((remaining + 999_999_999) / 1_000_000_000)) }

    /// Seconds until the window ends, as of `monotonic` (without changing the window).
    public func secondsLeft(at monotonic: UInt64) -> Int64 {
        let elapsed = monotonic >= observed ? monotonic - observed : 0
        let left = remaining > elapsed ? remaining - elapsed : 0
        return max(1, Int64((left + 999_999_999) / 1_000_000_000))
    }

    public mutating func add(_ n: Int64) { used += n }
    public mutating func subtract(_ n: Int64) { used = max(0, used - n) }

    /// `end - wall`, clamped to (0, period]: a wall clock far behind never makes a window longer
    /// than its period.
    private static func nanos(until end: Int64, from wallNanos: Int64, period: WindowPeriod) -> UInt64 {
        let left = end * 1_000_000_000 - wallNanos
        return UInt64(min(max(left, 1_000_000), period.seconds * 1_000_000_000))
    }
}

/// A token bucket: `capacity` tokens, refilled continuously at `perSecond`. Refill is measured on
/// the monotonic clock; if that clock ever reads earlier than before, nothing is granted and the
/// bucket continues from the new reading.
public struct TokenBucket: Sendable, Equatable {
    public let capacity: Double
    public let perSecond: Double
    public private(set) var tokens: Double
    private var observed: UInt64

    public init(capacity: Int64, per seconds: Double, monotonic: UInt64) {
        self.capacity = Double(max(capacity, 0))
        self.perSecond = Double(max(capacity, 0)) / seconds
        self.tokens = self.capacity
        self.observed = monotonic
    }

    /// A bucket with a new capacity keeps the tokens it had (up to the new capacity).
    public func resized(capacity: Int64, per seconds: Double, monotonic: UInt64) -> TokenBucket {
        var b = TokenBucket(capacity: capacity, per: seconds, monotonic: monotonic)
        var old = self
        old.refill(monotonic)
        b.tokens = min(b.capacity, old.tokens)
        return b
    }

    mutating func refill(_ monotonic: UInt64) {
        if monotonic > observed {
            tokens = min(capacity, tokens + Double(monotonic - observed) / 1e9 * perSecond)
        }
        observed = monotonic
    }

    /// Takes one token, or says how many seconds until one is there.
    public mutating func take(_ monotonic: UInt64) -> Int64? {
        refill(monotonic)
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        guard perSecond > 0 else { return 60 }
        return max(1, Int64(((1 - tokens) / perSecond).rounded(.up)))
    }

    /// Whole tokens left.
    public var remaining: Int64 { Int64(tokens) }
}
