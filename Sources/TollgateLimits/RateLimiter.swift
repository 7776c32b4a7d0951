import Synchronization

/// Counts every request against its subject's limits, in memory, under one lock: a request is
/// admitted and counted in the same critical section, so 64 parallel requests with 30 left give
/// exactly 30 admissions. Windows persist through `UsageStore` (see `LimitsService`); the token
/// bucket and transfer counts are process state. Which kinds each hook counts comes from the
/// kinds' descriptions (`LimitKind.about`): a new windowed kind needs no change here.
public final class RateLimiter: Sendable {
    struct Subject {
        var limits: EffectiveLimits
        var generation: UInt64
        var bucket: TokenBucket?
        /// The current window of each windowed kind, at its `windowSlot`. Changed in place in
        /// `State.subjects` (a copy would copy the array): counting allocates nothing.
        var windows: [LimitWindow]
        var active: Int64 = 0
        var reserved: Int64 = 0
        var dirty = false

        mutating func advance(_ wall: Int64, _ mono: UInt64) {
            for i in windows.indices { windows[i].advance(wallNanos: wall, monotonic: mono) }
        }

        /// Advances the windows and the bucket; true if nothing is counted or in flight.
        mutating func settle(_ wall: Int64, _ mono: UInt64) -> Bool {
            advance(wall, mono)
            bucket?.refill(mono)
            let bucketFull = bucket.map { $0.tokens >= $0.capacity } ?? true
            return !dirty && active == 0 && reserved == 0 && bucketFull && windows.allSatisfy { $0.used == 0 }
        }
    }

    struct State {
        var subjects: [Principal: Subject] = [:]
        /// Windows read from storage at start (by slot), taken when their subject is first seen.
        var restored: [Principal: [(start: Int64, used: Int64)?]] = [:]
    }

    /// A windowed kind and its slot.
    struct Slotted {
        let kind: LimitKind
        let slot: Int
    }

    // What each hook counts, from the descriptions.
    /// Windows counting pulls (at `admit`) and blob bytes (when a transfer finishes).
    static let pullWindows = windows(counting: .pulls)
    static let byteWindows = windows(counting: .blobBytes)
    /// The window shown in `RateLimit-Remaining`.
    static let advertised = LimitKind.advertised.map { Slotted(kind: $0, slot: $0.windowSlot!) }
    /// The request bucket's kind and refill period (one kind counts requests at most).
    static let requestRate: (kind: LimitKind, seconds: Double)? = {
        for kind in LimitKind.allCases where kind.about.counts == .requests {
            if case .bucket(let seconds) = kind.about.span { return (kind, Double(seconds)) }
        }
        return nil
    }()
    /// The kind limiting transfers in progress (one at most).
    static let transferSlots = LimitKind.allCases.first { $0.about.counts == .transfers }

    static func windows(counting what: LimitCounted) -> [Slotted] {
        LimitKind.windowed.enumerated().filter { $0.element.about.counts == what }.map {
            Slotted(kind: $0.element, slot: $0.offset)
        }
    }

    public let plans: PlanBook
    public let clock: LimitClock
    /// Replaces the plans' answer (a cluster node's slice of each limit while its shared store is
    /// unreachable); nil: the plans decide.
    let limitsOverride: (@Sendable (Principal, EffectiveLimits) -> EffectiveLimits)?
    private let state = Mutex(State())

    public init(
        plans: PlanBook, clock: LimitClock = .system,
        limits override: (@Sendable (Principal, EffectiveLimits) -> EffectiveLimits)? = nil
    ) {
        self.plans = plans
        self.clock = clock
        self.limitsOverride = override
    }

    /// The limits that apply to `subject`.
    func limits(for subject: Principal) -> EffectiveLimits {
        let planned = plans.limits(for: subject)
        return limitsOverride.map { $0(subject, planned) } ?? planned
    }

    /// Counts one request (and a pull, when `pull`) or refuses it. Nothing is counted on refusal.
    /// Without `request`, only the pull (for a request admitted already).
    public func admit(_ subject: Principal, pull: Bool, request: Bool = true) -> Result<Admission, LimitExceeded> {
        let wall = clock.wallNanos(), mono = clock.monotonic()
        let generation = plans.generation
        return state.withLock { st in
            withSubject(&st, subject, wall, mono, generation) { s in
                if pull, let no = Self.windowRefusal(s, Self.pullWindows, adding: 1, reserved: 0) {
                    return .failure(no)
                }
                var wait: Int64?
                if request, var bucket = s.bucket {
                    wait = bucket.take(mono)
                    s.bucket = bucket
                }
                if let wait, let rate = Self.requestRate {
                    return .failure(
                        LimitExceeded(
                            kind: rate.kind, plan: s.limits.plan, limit: s.limits.limits[rate.kind] ?? 0, retryAfter: wait))
                }
                if pull {
                    for w in Self.pullWindows { s.windows[w.slot].add(1) }
                    s.dirty = true
                }
                let remaining =
                    Self.advertised.flatMap { a in s.limits.limits[a.kind].map { max(0, $0 - s.windows[a.slot].used) } } ?? 0
                return .success(Admission(pullLimitHeader: s.limits.pullLimitHeader, pullsRemaining: remaining))
            }
        }
    }

    /// Gives back a pull whose request failed (a manifest that was not served).
    public func refundPull(_ subject: Principal) {
        state.withLock { st in
            Self.update(&st, subject) { s in
                for w in Self.pullWindows { s.windows[w.slot].subtract(1) }
                s.dirty = true
            }
        }
    }

    /// A cheap early refusal for a blob download, before its size is known: quota already used
    /// up, or every transfer slot taken.
    public func precheckTransfer(_ subject: Principal) -> LimitExceeded? {
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
    public func beginTransfer(_ subject: Principal, bytes: Int64) -> Result<TransferTicket, LimitExceeded> {
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
        return .success(TransferTicket { [self] sent in self.finishTransfer(subject, reserved: bytes, sent: sent) })
    }

    /// Byte quotas admit a transfer that fits in what is left (counting transfers in flight);
    /// a transfer already started is never cut.
    private func transferRefusal(_ s: Subject, bytes: Int64) -> LimitExceeded? {
        if let kind = Self.transferSlots, let max = s.limits.limits[kind], s.active >= max {
            return LimitExceeded(kind: kind, plan: s.limits.plan, limit: max, retryAfter: 1)
        }
        return Self.windowRefusal(s, Self.byteWindows, adding: bytes, reserved: s.reserved)
    }

    /// The first of `windows` that is used up (with `reserved` on top), or that `adding` more
    /// would pass.
    private static func windowRefusal(_ s: Subject, _ windows: [Slotted], adding: Int64, reserved: Int64)
        -> LimitExceeded?
    {
        for w in windows {
            guard let max = s.limits.limits[w.kind] else { continue }
            let window = s.windows[w.slot]
            let used = window.used + reserved
            if used >= max || (adding > 0 && used + adding > max) {
                return LimitExceeded(
                    kind: w.kind, plan: s.limits.plan, limit: max, retryAfter: window.secondsLeft,
                    resetsAt: window.end, used: used, needed: adding)
            }
        }
        return nil
    }

    func finishTransfer(_ subject: Principal, reserved: Int64, sent: Int64) {
        let wall = clock.wallNanos(), mono = clock.monotonic()
        state.withLock { st in
            Self.update(&st, subject) { s in
                s.advance(wall, mono)
                s.active = max(0, s.active - 1)
                s.reserved = max(0, s.reserved - reserved)
                if sent > 0 {
                    for w in Self.byteWindows { s.windows[w.slot].add(sent) }
                    s.dirty = true
                }
            }
        }
    }

    /// Where `subject` stands now.
    public func status(_ subject: Principal) -> LimitStatus {
        let wall = clock.wallNanos(), mono = clock.monotonic()
        let generation = plans.generation
        return state.withLock { st in
            withSubject(&st, subject, wall, mono, generation) { s in
                var bucket = s.bucket
                bucket?.refill(mono)
                return LimitStatus(
                    limits: s.limits, windows: s.windows.map { .init(start: $0.start, used: $0.used, secondsLeft: $0.secondsLeft) },
                    requestsRemaining: bucket?.remaining, activeTransfers: s.active, reservedBytes: s.reserved)
            }
        }
    }

    // MARK: persistence

    /// Windows changed since the last call, to be stored.
    public func takeChangedWindows() -> [LimitWindowRecord] {
        state.withLock { st in
            var records: [LimitWindowRecord] = []
            var i = st.subjects.startIndex
            while i != st.subjects.endIndex {
                if st.subjects.values[i].dirty {
                    let key = st.subjects.keys[i].description
                    for (w, kind) in zip(st.subjects.values[i].windows, LimitKind.windowed) {
                        records.append(LimitWindowRecord(subject: key, kind: kind.storedWindow!, start: w.start, used: w.used))
                    }
                    st.subjects.values[i].dirty = false
                }
                st.subjects.formIndex(after: &i)
            }
            return records
        }
    }

    /// Marks subjects changed again (their store write failed).
    public func markChanged(_ records: [LimitWindowRecord]) {
        state.withLock { st in
            for r in records {
                if let key = Principal(storageKey: r.subject) { Self.update(&st, key) { $0.dirty = true } }
            }
        }
    }

    /// Loads stored windows; only those of the current window of their period take effect.
    /// Returns the stored names no limit kind of this version has (they don't apply).
    @discardableResult
    public func restore(_ records: [LimitWindowRecord]) -> [String] {
        state.withLock { st in
            var unknown: [String] = []
            for r in records {
                guard let key = Principal(storageKey: r.subject) else { continue }
                guard let slot = LimitKind(storedWindow: r.kind)?.windowSlot else {
                    if !unknown.contains(r.kind) { unknown.append(r.kind) }
                    continue
                }
                st.restored[key, default: Array(repeating: nil, count: LimitKind.windowed.count)][slot] = (r.start, r.used)
                st.subjects[key] = nil
            }
            return unknown
        }
    }

    /// Drops a deleted user's state (windows, bucket) unless transfers of theirs are in flight;
    /// their next request starts afresh.
    public func forget(_ subject: Principal) {
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
            var idle: [Principal] = []
            var i = st.subjects.startIndex
            while i != st.subjects.endIndex {
                if st.subjects.values[i].settle(wall, mono) { idle.append(st.subjects.keys[i]) }
                st.subjects.formIndex(after: &i)
            }
            for key in idle { st.subjects[key] = nil }
            return st.subjects.count
        }
    }

    // MARK: -

    /// Runs `body` on the subject's state, created (or re-resolved after a settings change) as needed.
    private func withSubject<T>(
        _ st: inout State, _ key: Principal, _ wall: Int64, _ mono: UInt64, _ generation: UInt64,
        _ body: (inout Subject) -> T
    ) -> T {
        if let i = st.subjects.index(forKey: key) {
            return refreshed(&st.subjects.values[i], key, wall, mono, generation, body)
        }
        let limits = self.limits(for: key)
        let stored = st.restored.removeValue(forKey: key)
        var s = Subject(
            limits: limits, generation: generation, bucket: Self.bucket(limits, previous: nil, mono),
            windows: LimitKind.windowed.enumerated().map { slot, kind in
                LimitWindow(period: kind.period!, wallNanos: wall, monotonic: mono, restoring: stored?[slot])
            })
        let result = body(&s)
        st.subjects[key] = s
        return result
    }

    /// `body` on a known subject, its windows advanced and its limits re-resolved if settings changed.
    private func refreshed<T>(
        _ s: inout Subject, _ key: Principal, _ wall: Int64, _ mono: UInt64, _ generation: UInt64,
        _ body: (inout Subject) -> T
    ) -> T {
        s.advance(wall, mono)
        if s.generation != generation {
            s.limits = self.limits(for: key)
            s.generation = generation
            s.bucket = Self.bucket(s.limits, previous: s.bucket, mono)
        }
        return body(&s)
    }

    /// `body` on a known subject's state, in place; nothing if there is none.
    private static func update(_ st: inout State, _ key: Principal, _ body: (inout Subject) -> Void) {
        guard let i = st.subjects.index(forKey: key) else { return }
        body(&st.subjects.values[i])
    }

    private static func bucket(_ limits: EffectiveLimits, previous: TokenBucket?, _ mono: UInt64) -> TokenBucket? {
        guard let rate = requestRate, let figure = limits.limits[rate.kind] else { return nil }
        if let previous { return previous.resized(capacity: figure, per: rate.seconds, monotonic: mono) }
        return TokenBucket(capacity: figure, per: rate.seconds, monotonic: mono)
    }
}
