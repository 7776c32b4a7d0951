import RegistryCore
import Synchronization

/// A request refused by a limit.
public struct LimitExceeded: Error, Sendable, Equatable {
    public var kind: LimitKind
    public var plan: String
    public var limit: Int64
    /// Seconds until the request can succeed (`Retry-After`).
    public var retryAfter: Int64
    /// Unix seconds when the window resets, for window limits.
    public var resetsAt: Int64?
    /// For byte quotas: bytes used (including transfers in flight) and bytes this request needs.
    public var used: Int64 = 0
    public var needed: Int64 = 0

    public var message: String {
        let reset = resetsAt.map { " at \(CivilDate.timestamp($0))" } ?? ""
        let when = "resets in \(Self.span(retryAfter))\(reset)"
        switch kind {
        case .requestsPerMinute:
            return "request rate limit reached: \(limit) requests per minute (plan \(plan)); retry in \(retryAfter) s"
        case .pullsPer6h:
            return "pull rate limit reached: \(limit) pulls per 6 hours (plan \(plan)); \(when)"
        case .bytesPerDay, .bytesPerMonth:
            let period = kind == .bytesPerDay ? "daily" : "monthly"
            let blob = needed > 0 ? ", this blob needs \(ByteCount.format(needed))" : ""
            return
                "\(period) transfer quota reached: \(ByteCount.format(used)) of \(ByteCount.format(limit)) used (plan \(plan))\(blob); \(when)"
        case .concurrentTransfers:
            return "too many simultaneous downloads: \(limit) allowed (plan \(plan)); retry when one finishes"
        }
    }

    /// The registry's `TOOMANYREQUESTS` error with `Retry-After`.
    public var registryError: RegistryError {
        RegistryError(.tooManyRequests, message, detail: kind.rawValue, retryAfter: Int(clamping: retryAfter))
    }

    static func span(_ s: Int64) -> String {
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
    }
    public var limits: EffectiveLimits
    public var pulls: Window
    public var bytesDay: Window
    public var bytesMonth: Window
    /// Whole request tokens left (the full per-minute figure when unlimited).
    public var requestsRemaining: Int64?
    public var activeTransfers: Int64
    /// Bytes reserved by transfers in flight.
    public var reservedBytes: Int64
}

/// Counts every request against its subject's limits, in memory, under one lock: a request is
/// admitted and counted in the same critical section, so 64 parallel requests with 30 left give
/// exactly 30 admissions. Windows persist through `UsageStore` (see `LimitsService`); the token
/// bucket and transfer counts are process state.
public final class RateLimiter: Sendable {
    struct Subject {
        var limits: EffectiveLimits
        var generation: UInt64
        var bucket: TokenBucket?
        var pulls: LimitWindow
        var bytesDay: LimitWindow
        var bytesMonth: LimitWindow
        var active: Int64 = 0
        var reserved: Int64 = 0
        var dirty = false

        mutating func advance(_ wall: Int64, _ mono: UInt64) {
            pulls.advance(wallNanos: wall, monotonic: mono)
            bytesDay.advance(wallNanos: wall, monotonic: mono)
            bytesMonth.advance(wallNanos: wall, monotonic: mono)
        }

        var windows: [LimitWindow] { [pulls, bytesDay, bytesMonth] }
    }

    struct State {
        var subjects: [LimitSubject: Subject] = [:]
        /// Windows read from storage at start, taken when their subject is first seen.
        var restored: [LimitSubject: [WindowPeriod: (start: Int64, used: Int64)]] = [:]
    }

    public let plans: PlanBook
    public let clock: LimitClock
    private let state = Mutex(State())

    public init(plans: PlanBook, clock: LimitClock = .system) {
        self.plans = plans
        self.clock = clock
    }

    /// Counts one request (and a pull, when `pull`) or refuses it. Nothing is counted on refusal.
    /// Without `request`, only the pull (for a request admitted already).
    public func admit(_ subject: LimitSubject, pull: Bool, request: Bool = true) -> Result<Admission, LimitExceeded> {
        let wall = clock.wallNanos(), mono = clock.monotonic()
        let generation = plans.generation
        return state.withLock { st in
            withSubject(&st, subject, wall, mono, generation) { s in
                let limits = s.limits.limits
                if pull, let max = limits[.pullsPer6h], s.pulls.used >= max {
                    return .failure(
                        LimitExceeded(
                            kind: .pullsPer6h, plan: s.limits.plan, limit: max, retryAfter: s.pulls.secondsLeft,
                            resetsAt: s.pulls.end))
                }
                var wait: Int64?
                if request, var bucket = s.bucket {
                    wait = bucket.take(mono)
                    s.bucket = bucket
                }
                if let wait {
                    return .failure(
                        LimitExceeded(
                            kind: .requestsPerMinute, plan: s.limits.plan, limit: limits[.requestsPerMinute] ?? 0,
                            retryAfter: wait))
                }
                if pull {
                    s.pulls.add(1)
                    s.dirty = true
                }
                let remaining = limits[.pullsPer6h].map { max(0, $0 - s.pulls.used) } ?? 0
                return .success(Admission(pullLimitHeader: s.limits.pullLimitHeader, pullsRemaining: remaining))
            }
        }
    }

    /// Gives back a pull whose request failed (a manifest that was not served).
    public func refundPull(_ subject: LimitSubject) {
        state.withLock { st in
            guard var s = st.subjects[subject] else { return }
            s.pulls.subtract(1)
            s.dirty = true
            st.subjects[subject] = s
        }
    }

    /// A cheap early refusal for a blob download, before its size is known: quota already used
    /// up, or every transfer slot taken.
    public func precheckTransfer(_ subject: LimitSubject) -> LimitExceeded? {
        let wall = clock.wallNanos(), mono = clock.monotonic()
        let generation = plans.generation
        return state.withLock { st in
            withSubject(&st, subject, wall, mono, generation) { s in
                transferRefusal(s, bytes: 0)
            }
        }
    }

    /// Reserves a transfer slot and `bytes` of the byte quotas, or refuses. The ticket must be
    /// finished with the bytes really sent (its deinit finishes it with 0 if it never ran).
    public func beginTransfer(_ subject: LimitSubject, bytes: Int64) -> Result<TransferTicket, LimitExceeded> {
        let wall = clock.wallNanos(), mono = clock.monotonic()
        let generation = plans.generation
        let bytes = max(0, bytes)
        let refused: LimitExceeded? = state.withLock { st in
            withSubject(&st, subject, wall, mono, generation) { s in
                if let no = transferRefusal(s, bytes: bytes) { return no }
                s.active += 1
                s.reserved += bytes
                return nil
            }
        }
        if let refused { return .failure(refused) }
        return .success(TransferTicket(limiter: self, subject: subject, reserved: bytes))
    }

    /// Byte quotas admit a transfer that fits in what is left (counting transfers in flight);
    /// a transfer already started is never cut.
    private func transferRefusal(_ s: Subject, bytes: Int64) -> LimitExceeded? {
        let limits = s.limits.limits
        if let max = limits[.concurrentTransfers], s.active >= max {
            return LimitExceeded(kind: .concurrentTransfers, plan: s.limits.plan, limit: max, retryAfter: 1)
        }
        for (kind, window) in [(LimitKind.bytesPerDay, s.bytesDay), (.bytesPerMonth, s.bytesMonth)] {
            guard let max = limits[kind] else { continue }
            let used = window.used + s.reserved
            if used >= max || (bytes > 0 && used + bytes > max) {
                return LimitExceeded(
                    kind: kind, plan: s.limits.plan, limit: max, retryAfter: window.secondsLeft,
                    resetsAt: window.end, used: used, needed: bytes)
            }
        }
        return nil
    }

    func finishTransfer(_ subject: LimitSubject, reserved: Int64, sent: Int64) {
        let wall = clock.wallNanos(), mono = clock.monotonic()
        state.withLock { st in
            guard var s = st.subjects[subject] else { return }
            s.advance(wall, mono)
            s.active = max(0, s.active - 1)
            s.reserved = max(0, s.reserved - reserved)
            if sent > 0 {
                s.bytesDay.add(sent)
                s.bytesMonth.add(sent)
                s.dirty = true
            }
            st.subjects[subject] = s
        }
    }

    /// Where `subject` stands now.
    public func status(_ subject: LimitSubject) -> LimitStatus {
        let wall = clock.wallNanos(), mono = clock.monotonic()
        let generation = plans.generation
        return state.withLock { st in
            withSubject(&st, subject, wall, mono, generation) { s in
                var bucket = s.bucket
                bucket?.refill(mono)
                func view(_ w: LimitWindow) -> LimitStatus.Window {
                    .init(start: w.start, used: w.used, secondsLeft: w.secondsLeft)
                }
                return LimitStatus(
                    limits: s.limits, pulls: view(s.pulls), bytesDay: view(s.bytesDay), bytesMonth: view(s.bytesMonth),
                    requestsRemaining: bucket?.remaining, activeTransfers: s.active, reservedBytes: s.reserved)
            }
        }
    }

    // MARK: persistence

    /// Windows changed since the last call, to be stored.
    public func takeChangedWindows() -> [LimitWindowRecord] {
        state.withLock { st in
            var records: [LimitWindowRecord] = []
            for (key, s) in st.subjects where s.dirty {
                for w in s.windows {
                    records.append(
                        LimitWindowRecord(subject: key.description, kind: w.period.rawValue, start: w.start, used: w.used))
                }
                st.subjects[key]!.dirty = false
            }
            return records
        }
    }

    /// Marks subjects changed again (their store write failed).
    public func markChanged(_ records: [LimitWindowRecord]) {
        state.withLock { st in
            for r in records {
                if let key = LimitSubject(storageKey: r.subject) { st.subjects[key]?.dirty = true }
            }
        }
    }

    /// Loads stored windows; only those of the current window of their period take effect.
    public func restore(_ records: [LimitWindowRecord]) {
        state.withLock { st in
            for r in records {
                guard let key = LimitSubject(storageKey: r.subject), let period = WindowPeriod(rawValue: r.kind) else {
                    continue
                }
                st.restored[key, default: [:]][period] = (r.start, r.used)
                st.subjects[key] = nil
            }
        }
    }

    /// Drops a deleted user's state (windows, bucket) unless transfers of theirs are in flight;
    /// their next request starts afresh.
    public func forget(_ subject: LimitSubject) {
        state.withLock { st in
            st.restored[subject] = nil
            if let s = st.subjects[subject], s.active == 0, s.reserved == 0 { st.subjects[subject] = nil }
        }
    }

    /// Forgets subjects with nothing counted and nothing in flight (anonymous addresses come
    /// and go); returns how many are left.
    @discardableResult
    public func forgetIdle() -> Int {
        let wall = clock.wallNanos(), mono = clock.monotonic()
        return state.withLock { st in
            for (key, var s) in st.subjects {
                s.advance(wall, mono)
                s.bucket?.refill(mono)
                let bucketFull = s.bucket.map { $0.tokens >= $0.capacity } ?? true
                if !s.dirty, s.active == 0, s.reserved == 0, bucketFull, s.windows.allSatisfy({ $0.used == 0 }) {
                    st.subjects[key] = nil
                } else {
                    st.subjects[key] = s
                }
            }
            return st.subjects.count
        }
    }

    // MARK: -

    /// Runs `body` on the subject's state, created (or re-resolved after a settings change) as needed.
    private func withSubject<T>(
        _ st: inout State, _ key: LimitSubject, _ wall: Int64, _ mono: UInt64, _ generation: UInt64,
        _ body: (inout Subject) -> T
    ) -> T {
        var s: Subject
        if let existing = st.subjects[key] {
            s = existing
            s.advance(wall, mono)
            if s.generation != generation {
                s.limits = plans.limits(for: key)
                s.generation = generation
                s.bucket = Self.bucket(s.limits, previous: s.bucket, mono)
            }
        } else {
            let limits = plans.limits(for: key)
            let stored = st.restored.removeValue(forKey: key) ?? [:]
            s = Subject(
                limits: limits, generation: generation, bucket: Self.bucket(limits, previous: nil, mono),
                pulls: LimitWindow(period: .sixHours, wallNanos: wall, monotonic: mono, restoring: stored[.sixHours]),
                bytesDay: LimitWindow(period: .day, wallNanos: wall, monotonic: mono, restoring: stored[.day]),
                bytesMonth: LimitWindow(period: .month, wallNanos: wall, monotonic: mono, restoring: stored[.month]))
        }
        let result = body(&s)
        st.subjects[key] = s
        return result
    }

    private static func bucket(_ limits: EffectiveLimits, previous: TokenBucket?, _ mono: UInt64) -> TokenBucket? {
        guard let rpm = limits.limits[.requestsPerMinute] else { return nil }
        if let previous { return previous.resized(capacity: rpm, per: 60, monotonic: mono) }
        return TokenBucket(capacity: rpm, per: 60, monotonic: mono)
    }
}

/// A reserved transfer slot; `finish(sent:)` once, with the bytes really sent.
public final class TransferTicket: Sendable {
    let limiter: RateLimiter
    let subject: LimitSubject
    let reserved: Int64
    private let done = Atomic<Bool>(false)

    init(limiter: RateLimiter, subject: LimitSubject, reserved: Int64) {
        self.limiter = limiter
        self.subject = subject
        self.reserved = reserved
    }

    public func finish(sent: Int64) {
        guard !done.exchange(true, ordering: .acquiringAndReleasing) else { return }
        limiter.finishTransfer(subject, reserved: reserved, sent: sent)
    }

    deinit { finish(sent: 0) }
}

/// Human-readable byte counts (binary units), for messages and tables.
public enum ByteCount {
    public static func format(_ n: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(n)
        var unit = 0
        while abs(value) >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(n) B" }
        let rounded = (value * 10).rounded() / 10
        let text = rounded == rounded.rounded() ? String(Int64(rounded)) : String(rounded)
        return "\(text) \(units[unit])"
    }
}
