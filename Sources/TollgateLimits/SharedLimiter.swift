import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// A cluster node's limiter: every count lives in the shared store and changes in one atomic
/// step there (`SharedLimitStore`), so the nodes together never pass a limit:
/// - a pull charges the pull window with one statement; concurrent pulls of one caller on this
///   node share it (`chargeUpTo`: as many as fit), so a busy caller costs one round trip per
///   batch, not per pull; far from the limit (or without one: the window still counts) a batch
///   also takes a slice of `pullSlice` pulls that this node hands out without asking, and what
///   is left of it after a second of quiet goes back, so the stored count is then exactly the
///   pulls served (a node that dies keeps its slice counted: the safe side);
/// - a blob download reserves a transfer slot and its bytes (tagged with this node, so they are
///   released if the node dies) and settles to the bytes sent;
/// - request rates are leased from the shared bucket in slices (`requestSlice`), used here,
///   and what is left after a second of quiet goes back.
///
/// When the store fails, the node is *degraded*: until the store answers again (probed every
/// second), a local `RateLimiter` decides with this node's slice of each limit — what was left
/// of it, divided among the live nodes — and what it counts meanwhile is charged to the store
/// when it returns. "What was left" is exact: every charge returns the stored count, so the node
/// that charged last knows it; a degraded node asks the others (`peers`) what they last saw and
/// what their transfers in flight hold, and takes the largest count. A caller whose counts no
/// node knows, or when a node doesn't answer, gets nothing of a windowed limit meanwhile.
public final class SharedLimiter: Limiter, Service {
    public let plans: PlanBook
    public let clock: LimitClock
    let store: any SharedLimitStore
    let node: String
    /// How many nodes may be serving (in a cluster: those live lately): a degraded node's share.
    let liveNodes: @Sendable () -> Int
    let logger: Logger

    /// Request tokens this node holds, per subject.
    struct Lease {
        var tokens: Int64
        var lastUsed: UInt64
    }
    private let leases = Mutex<[Principal: Lease]>([:])
    /// The counts the store last answered, per subject: what degraded mode slices from.
    struct Known {
        /// By stored window name; a window the store doesn't have is known to be 0.
        var windows: [String: LimitWindowRecord] = [:]
        /// When all of the subject's windows were last read (monotonic ns); nil: never.
        var read: UInt64?
        var lastSeen: UInt64
    }
    private let known = Mutex<[Principal: Known]>([:])
    /// Subjects seen within this long have their windows re-read every `rereadEvery`.
    static let activeFor: UInt64 = 300_000_000_000
    static let rereadEvery: UInt64 = 5_000_000_000
    /// Set while the store is unreachable.
    private let degraded = Mutex<RateLimiter?>(nil)
    /// Transfers finished while the store was unreachable: counted when it returns.
    private let unsettled = Mutex<[(id: String, subject: Principal, windows: [SharedWindow], sent: Int64)]>([])
    /// Pulls waiting for their caller's batch, per subject and window, and whether one is running.
    private struct PullBatchKey: Hashable {
        var subject: Principal
        var window: SharedWindow
    }
    private struct PullBatch {
        var waiting: [CheckedContinuation<Result<SharedChargeOutcome, any Error>, Never>] = []
    }
    private let pullBatches = Mutex<[PullBatchKey: PullBatch]>([:])
    /// Pulls this node holds, charged already, per subject and window; `used` is the stored count
    /// when they were taken (it includes them).
    private struct PullSlice {
        var pulls: Int64
        var used: Int64
        var lastUsed: UInt64
    }
    private let pullSlices = Mutex<[PullBatchKey: PullSlice]>([:])
    /// How many pulls a slice takes: `pullSlice` when the window has no limit or at least
    /// `pullSliceRoom` pulls are left of it (by the count last stored), else none: near a limit
    /// every pull is charged as it comes, so no node holds what another could use.
    public static let pullSlice: Int64 = 64
    public static let pullSliceRoom: Int64 = 64 * 64
    /// Bytes this node's transfers in flight have reserved, per subject.
    private let inFlight = Mutex<[Principal: Int64]>([:])
    /// What the other live nodes know of a subject (nil when one doesn't answer); set once the
    /// forwarding client exists.
    private let peers = Mutex<(@Sendable (Principal) async -> [KnownCounts]?)?>(nil)
    /// While degraded: each subject's counts as the nodes together knew them (nil: unknown), and
    /// when they were gathered.
    private let bases = Mutex<[Principal: (base: DegradedBase?, at: UInt64)]>([:])

    public init(
        plans: PlanBook, store: any SharedLimitStore, node: String, liveNodes: @escaping @Sendable () -> Int,
        logger: Logger, clock: LimitClock = .system
    ) {
        self.plans = plans
        self.store = store
        self.node = node
        self.liveNodes = liveNodes
        self.logger = logger
        self.clock = clock
    }

    /// Whether the store is unreachable (`/readyz` says so).
    public var isDegraded: Bool { degraded.withLock { $0 != nil } }

    /// How to ask the other nodes what they know of a subject (`knownCounts` on each).
    public func setPeers(_ ask: @escaping @Sendable (Principal) async -> [KnownCounts]?) { peers.withLock { $0 = ask } }

    /// What this node knows of `subject`: the last counts the store answered it, whether it read
    /// all of them, and the bytes its transfers in flight (or not yet settled) hold.
    public func knownCounts(_ subject: Principal) -> KnownCounts {
        let entry = known.withLock { $0[subject] }
        let pending = inFlight.withLock { $0[subject] ?? 0 }
            + unsettled.withLock { $0.filter { $0.subject == subject }.reduce(0) { $0 + $1.sent } }
        return KnownCounts(
            windows: entry.map { Array($0.windows.values) } ?? [], read: entry?.read != nil, pendingBytes: pending)
    }

    /// Charges one pull, in a batch with the caller's other pulls waiting on this node: the first
    /// to arrive runs batches until none is waiting; each batch is one `chargeUpTo`, whose grants
    /// go to the longest waiting.
    private func chargePull(_ subject: Principal, _ window: SharedWindow) async throws -> SharedChargeOutcome {
        let key = PullBatchKey(subject: subject, window: window)
        let mono = clock.monotonic()
        let sliced = pullSlices.withLock { s -> Int64? in
            guard var slice = s[key], slice.pulls > 0 else { return nil }
            slice.pulls -= 1
            slice.lastUsed = mono
            s[key] = slice
            return slice.used
        }
        if let used = sliced { return .counted([used]) }
        let result = await withCheckedContinuation { continuation in
            let lead = pullBatches.withLock { b -> Bool in
                let lead = b[key] == nil
                b[key, default: PullBatch()].waiting.append(continuation)
                return lead
            }
            if lead { Task { await self.runPullBatches(key) } }
        }
        return try result.get()
    }

    private func runPullBatches(_ key: PullBatchKey) async {
        while true {
            // The leader's own pull is in the first batch; the key goes once none waits.
            let waiting = pullBatches.withLock { b -> [CheckedContinuation<Result<SharedChargeOutcome, any Error>, Never>] in
                guard let batch = b[key], !batch.waiting.isEmpty else {
                    b[key] = nil
                    return []
                }
                b[key]!.waiting = []
                return batch.waiting
            }
            if waiting.isEmpty { return }
            do {
                let extra = sliceWanted(key)
                let (granted, used) = try await store.chargeUpTo(
                    subject: key.subject.description, window: key.window, want: Int64(waiting.count) + extra)
                for (i, c) in waiting.enumerated() {
                    if Int64(i) < granted {
                        c.resume(returning: .success(.counted([used - granted + 1 + Int64(i)])))
                    } else {
                        c.resume(returning: .success(.refused(index: 0, used: used)))
                    }
                }
                if granted > Int64(waiting.count) {
                    let mono = clock.monotonic()
                    pullSlices.withLock { s in
                        let held = s[key]?.pulls ?? 0
                        s[key] = PullSlice(pulls: held + granted - Int64(waiting.count), used: used, lastUsed: mono)
                    }
                }
            } catch {
                for c in waiting { c.resume(returning: .failure(error)) }
            }
        }
    }

    /// The slice a batch for `key` takes besides its pulls (see `pullSlice`).
    private func sliceWanted(_ key: PullBatchKey) -> Int64 {
        guard let limit = key.window.limit else { return Self.pullSlice }
        let stored = known.withLock { $0[key.subject]?.windows[key.window.kind] }
        guard let stored, stored.start >= key.window.start else { return 0 }  // not known yet: exact
        return limit - stored.used >= Self.pullSliceRoom ? Self.pullSlice : 0
    }

    /// Enters degraded mode after `error` and returns the local limiter, `subject`'s counts gathered.
    private func fallback(_ error: any Error, _ subject: Principal) async -> RateLimiter {
        let local = degrade(error)
        return await degradedLimiter(for: subject) ?? local
    }

    /// The local limiter while degraded, with `subject`'s counts gathered (from this node and the
    /// others) for its slices; nil when the store answers.
    private func degradedLimiter(for subject: Principal) async -> RateLimiter? {
        guard let local = degraded.withLock({ $0 }) else { return nil }
        let mono = clock.monotonic()
        let fresh = bases.withLock { b in b[subject].map { $0.base != nil || mono &- $0.at < 5_000_000_000 } ?? false }
        if !fresh {
            var all = [knownCounts(subject)]
            let ask = peers.withLock { $0 }
            let others: [KnownCounts]? = if let ask { await ask(subject) } else { [] }
            all += others ?? []
            let base = others == nil ? nil : DegradedBase(all, now: clock.wall())
            bases.withLock { $0[subject] = (base, mono) }
        }
        return local
    }

    /// How many request tokens one lease takes: a twentieth of the per-minute figure (at least 1),
    /// so a node holds little that others can't use.
    static func requestSlice(_ capacity: Int64) -> Int64 { max(1, capacity / 20) }

    // MARK: Limiter

    public func admit(_ subject: Principal, pull: Bool, request: Bool) async -> Result<Admission, LimitExceeded> {
        if let local = await degradedLimiter(for: subject) { return local.admit(subject, pull: pull, request: request) }
        seen(subject)
        let limits = plans.limits(for: subject)
        var leased = false
        if request, let rate = RateLimiter.requestRate, let capacity = limits.limits[rate.kind] {
            do {
                if let wait = try await takeRequest(subject, capacity: capacity, seconds: rate.seconds) {
                    return .failure(LimitExceeded(kind: rate.kind, plan: limits.plan, limit: capacity, retryAfter: wait))
                }
                leased = true
            } catch {
                return await fallback(error, subject).admit(subject, pull: pull, request: request)
            }
        }
        guard pull else { return .success(admission(subject, limits)) }
        let windows = Self.windows(RateLimiter.pullWindows, limits, now: clock.wall())
        do {
            let outcome =
                if windows.count == 1 {
                    try await chargePull(subject, windows[0])
                } else {
                    try await store.charge(subject: subject.description, windows: windows, amount: 1)
                }
            switch outcome {
            case .counted(let used):
                remember(subject, windows, used)
                return .success(admission(subject, limits))
            case .refused(let index, let used):
                if leased { putBackRequest(subject) }
                return .failure(refusal(RateLimiter.pullWindows[index].kind, limits, windows[index], used: used, needed: 1))
            }
        } catch {
            return await fallback(error, subject).admit(subject, pull: true, request: false)
        }
    }

    public func refundPull(_ subject: Principal) async {
        if let local = degraded.withLock({ $0 }) { return local.refundPull(subject) }
        let windows = Self.windows(RateLimiter.pullWindows, plans.limits(for: subject), now: clock.wall())
        do {
            try await store.refund(subject: subject.description, windows: windows, amount: 1)
        } catch {
            _ = degrade(error)  // the pull stays counted: the safe side
        }
    }

    public func precheckTransfer(_ subject: Principal) async -> LimitExceeded? {
        if let local = await degradedLimiter(for: subject) { return local.precheckTransfer(subject) }
        let limits = plans.limits(for: subject)
        let slots = RateLimiter.transferSlots.flatMap { limits.limits[$0] }
        let windows = Self.windows(RateLimiter.byteWindows, limits, now: clock.wall())
        guard slots != nil || windows.contains(where: { $0.limit != nil }) else { return nil }
        do {
            let (active, reserved) = try await store.transfers(subject: subject.description)
            if let kind = RateLimiter.transferSlots, let max = slots, active >= max {
                return LimitExceeded(kind: kind, plan: limits.plan, limit: max, retryAfter: 1)
            }
            let stored = try await store.windows(subject: subject.description)
            for (i, w) in windows.enumerated() {
                guard let max = w.limit else { continue }
                let used = w.count(in: stored) + reserved
                if used >= max { return refusal(RateLimiter.byteWindows[i].kind, limits, w, used: used, needed: 0) }
            }
            return nil
        } catch {
            return await fallback(error, subject).precheckTransfer(subject)
        }
    }

    public func beginTransfer(_ subject: Principal, bytes: Int64) async -> Result<TransferTicket, LimitExceeded> {
        if let local = await degradedLimiter(for: subject) { return local.beginTransfer(subject, bytes: bytes) }
        seen(subject)
        let limits = plans.limits(for: subject)
        let windows = Self.windows(RateLimiter.byteWindows, limits, now: clock.wall())
        let slots = RateLimiter.transferSlots.flatMap { limits.limits[$0] }
        let transfer = SharedTransfer(id: UUID().uuidString, subject: subject.description, node: node, bytes: max(0, bytes))
        do {
            switch try await store.reserveTransfer(transfer, maxActive: slots, windows: windows) {
            case .reserved(let used):
                remember(subject, windows, used)
                inFlight.withLock { $0[subject, default: 0] += transfer.bytes }
            case .tooMany:
                return .failure(
                    LimitExceeded(kind: RateLimiter.transferSlots!, plan: limits.plan, limit: slots ?? 0, retryAfter: 1))
            case .refused(let index, let used):
                return .failure(
                    refusal(RateLimiter.byteWindows[index].kind, limits, windows[index], used: used, needed: transfer.bytes))
            }
        } catch {
            return await fallback(error, subject).beginTransfer(subject, bytes: bytes)
        }
        let unlimited = windows.map { SharedWindow(kind: $0.kind, start: $0.start, limit: nil) }
        return .success(
            TransferTicket { [self] sent in
                Task {
                    await self.settle(id: transfer.id, subject: subject, windows: unlimited, sent: sent)
                    self.inFlight.withLock { f in
                        f[subject] = (f[subject] ?? 0) - transfer.bytes
                        if f[subject]! <= 0 { f[subject] = nil }
                    }
                }
            })
    }

    public func status(_ subject: Principal) async -> LimitStatus {
        if let local = degraded.withLock({ $0 }) { return local.status(subject) }
        let limits = plans.limits(for: subject)
        let now = clock.wall()
        let stored = (try? await store.windows(subject: subject.description)) ?? []
        let transfers = (try? await store.transfers(subject: subject.description)) ?? (active: 0, reservedBytes: 0)
        // Pulls of this node's slices are counted in the store but not yet served.
        let sliced = pullSlices.withLock { s in
            s.filter { $0.key.subject == subject }.map { ($0.key.window, $0.value.pulls) }
        }
        let windows = LimitKind.windowed.map { kind -> LimitStatus.Window in
            let w = SharedWindow(kind: kind.storedWindow!, start: kind.period!.start(containing: now), limit: nil)
            let end = kind.period!.next(after: w.start)
            let held = sliced.filter { $0.0.kind == w.kind && $0.0.start == w.start }.reduce(0) { $0 + $1.1 }
            return .init(start: w.start, used: max(0, w.count(in: stored) - held), secondsLeft: max(1, end - now))
        }
        var requests: Int64?
        if let rate = RateLimiter.requestRate, let capacity = limits.limits[rate.kind] {
            let held = leases.withLock { $0[subject]?.tokens ?? 0 }
            let shared = try? await store.requestTokens(
                subject: subject.description, capacity: capacity, perSecond: Double(capacity) / rate.seconds)
            requests = min(capacity, held + Int64((shared ?? 0).rounded(.down)))
        }
        return LimitStatus(
            limits: limits, windows: windows, requestsRemaining: requests, activeTransfers: transfers.active,
            reservedBytes: transfers.reservedBytes)
    }

    public func forget(_ subject: Principal) {
        leases.withLock { $0[subject] = nil }
        pullSlices.withLock { s in s = s.filter { $0.key.subject != subject } }
        known.withLock { $0[subject] = nil }
        degraded.withLock { $0?.forget(subject) }
    }

    // MARK: background

    /// Every second: gives back request tokens idle for a second, and while degraded, probes the
    /// store; when it answers, charges what was counted meanwhile and leaves degraded mode.
    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            await tick()
        }
        await returnIdleLeases(olderThan: 0)
        await returnIdlePullSlices(olderThan: 0)
    }

    /// One round of `run`'s work (tests call it directly).
    public func tick() async {
        if let local = degraded.withLock({ $0 }) {
            await recover(from: local)
        } else {
            await returnIdleLeases(olderThan: 1_000_000_000)
            await returnIdlePullSlices(olderThan: 1_000_000_000)
            await settleUnsettled()
            await rereadKnown()
        }
    }

    /// Notes that `subject` made a request (its windows are read within a second).
    private func seen(_ subject: Principal) {
        let mono = clock.monotonic()
        known.withLock { k in
            if k[subject] == nil { k[subject] = Known(lastSeen: mono) } else { k[subject]!.lastSeen = mono }
        }
    }

    /// Reads all windows of subjects active lately whose copy is older than `rereadEvery` (at
    /// most 200 a round), and forgets those long inactive: so a node that loses the store knows
    /// where each recent caller stood a few seconds before.
    private func rereadKnown() async {
        let mono = clock.monotonic()
        let due = known.withLock { k -> [Principal] in
            k = k.filter { mono &- $0.value.lastSeen < Self.activeFor }
            return Array(k.filter { $0.value.read.map { mono &- $0 >= Self.rereadEvery } ?? true }.keys.prefix(200))
        }
        for subject in due {
            guard let stored = try? await store.windows(subject: subject.description) else { return }
            known.withLock { k in
                guard k[subject] != nil else { return }
                for r in stored { k[subject]!.windows[r.kind] = Self.later(k[subject]!.windows[r.kind], r) }
                k[subject]!.read = mono
            }
        }
    }

    // MARK: -

    /// Takes one request token, leasing a slice from the store when this node holds none;
    /// returns the seconds to wait when the bucket is empty.
    private func takeRequest(_ subject: Principal, capacity: Int64, seconds: Double) async throws -> Int64? {
        let mono = clock.monotonic()
        let took = leases.withLock { l -> Bool in
            guard var lease = l[subject], lease.tokens > 0 else { return false }
            lease.tokens -= 1
            lease.lastUsed = mono
            l[subject] = lease
            return true
        }
        if took { return nil }
        let lease = try await store.leaseRequests(
            subject: subject.description, capacity: capacity, perSecond: Double(capacity) / seconds,
            want: Self.requestSlice(capacity))
        guard lease.granted > 0 else { return max(1, Int64(lease.waitSeconds.rounded(.up))) }
        leases.withLock { l in
            var held = l[subject] ?? Lease(tokens: 0, lastUsed: mono)
            held.tokens += lease.granted - 1
            held.lastUsed = mono
            l[subject] = held
        }
        return nil
    }

    private func putBackRequest(_ subject: Principal) {
        leases.withLock { l in l[subject, default: Lease(tokens: 0, lastUsed: clock.monotonic())].tokens += 1 }
    }

    private func returnIdleLeases(olderThan nanos: UInt64) async {
        let mono = clock.monotonic()
        let idle = leases.withLock { l -> [(Principal, Int64)] in
            let done = l.filter { mono &- $0.value.lastUsed >= nanos }
            for key in done.keys { l[key] = nil }
            return done.filter { $0.value.tokens > 0 }.map { ($0.key, $0.value.tokens) }
        }
        for (subject, tokens) in idle {
            guard let rate = RateLimiter.requestRate, let capacity = plans.limits(for: subject).limits[rate.kind] else {
                continue
            }
            try? await store.returnRequests(subject: subject.description, capacity: capacity, count: tokens)
        }
    }

    /// Gives back what is left of pull slices unused for `nanos`: the store's count goes down to
    /// the pulls served. While the store is unreachable a slice stays counted (the safe side).
    private func returnIdlePullSlices(olderThan nanos: UInt64) async {
        let mono = clock.monotonic()
        let idle = pullSlices.withLock { s -> [(PullBatchKey, Int64)] in
            let done = s.filter { mono &- $0.value.lastUsed >= nanos }
            for key in done.keys { s[key] = nil }
            return done.filter { $0.value.pulls > 0 }.map { ($0.key, $0.value.pulls) }
        }
        for (key, pulls) in idle {
            try? await store.refund(subject: key.subject.description, windows: [key.window], amount: pulls)
        }
    }

    private func settle(id: String, subject: Principal, windows: [SharedWindow], sent: Int64) async {
        do {
            let counts = try await store.finishTransfer(id: id, subject: subject.description, windows: windows, sent: sent)
            if counts.count == windows.count { remember(subject, windows, counts) }
        } catch {
            unsettled.withLock { $0.append((id, subject, windows, sent)) }
            _ = degrade(error)
        }
    }

    private func settleUnsettled() async {
        let todo = unsettled.withLock { u in
            defer { u = [] }
            return u
        }
        for t in todo { await settle(id: t.id, subject: t.subject, windows: t.windows, sent: t.sent) }
    }

    /// Enters degraded mode (once per outage) and returns the local limiter deciding meanwhile.
    private func degrade(_ error: any Error) -> RateLimiter {
        degraded.withLock { current in
            if let current { return current }
            let nodes = Int64(max(1, liveNodes()))
            logger.error(
                "limits store unreachable: deciding with this node's slices until it answers",
                metadata: ["error": "\(error)", "live_nodes": "\(nodes)"])
            bases.withLock { $0 = [:] }
            let local = RateLimiter(plans: plans, clock: clock) { [unowned self] subject, planned in
                Self.slice(planned, base: self.bases.withLock { $0[subject]?.base }, nodes: nodes)
            }
            current = local
            return local
        }
    }

    /// What one of `nodes` nodes may still grant of each limit: what was left (`base`: the
    /// cluster's counts when the store went away; nothing when unknown) divided among the nodes;
    /// transfers and request rates divided.
    static func slice(_ planned: EffectiveLimits, base: DegradedBase?, nodes: Int64) -> EffectiveLimits {
        var limits = planned.limits
        for kind in LimitKind.allCases {
            guard let figure = planned.limits[kind] else { continue }
            if let name = kind.storedWindow {
                guard let used = base?.used[name] else {
                    limits[kind] = 0
                    continue
                }
                let pending = kind.about.counts == .blobBytes ? base?.pendingBytes ?? 0 : 0
                limits[kind] = max(0, figure - used - pending) / nodes
            } else {
                limits[kind] = figure / nodes
            }
        }
        return EffectiveLimits(plan: planned.plan, limits: limits)
    }

    /// Probes the store; if it answers, charges the counts of the outage and leaves degraded mode.
    private func recover(from local: RateLimiter) async {
        do {
            _ = try await store.windows(subject: "-")
        } catch {
            return
        }
        // Counts made while degraded: added without a limit (they were granted within the slices).
        let counted = local.takeChangedWindows()
        degraded.withLock { $0 = nil }
        var bySubject: [String: [LimitWindowRecord]] = [:]
        for r in counted where r.used > 0 { bySubject[r.subject, default: []].append(r) }
        for (subject, records) in bySubject {
            for r in records {
                _ = try? await store.charge(
                    subject: subject, windows: [SharedWindow(kind: r.kind, start: r.start, limit: nil)], amount: r.used)
            }
        }
        await settleUnsettled()
        logger.notice("limits store answers again: counts of the outage charged")
    }

    private func admission(_ subject: Principal, _ limits: EffectiveLimits) -> Admission {
        let now = clock.wall()
        let remaining =
            RateLimiter.advertised.flatMap { a -> Int64? in
                guard let max = limits.limits[a.kind], let name = a.kind.storedWindow else { return nil }
                let w = SharedWindow(kind: name, start: a.kind.period!.start(containing: now), limit: max)
                let seen = known.withLock { $0[subject]?.windows[name] }
                return Swift.max(0, max - (seen.map { w.count(in: [$0]) } ?? 0))
            } ?? 0
        return Admission(pullLimitHeader: limits.pullLimitHeader, pullsRemaining: remaining)
    }

    /// Of two answers for one window, the more recent: the later window, else the larger count
    /// (counts only grow within a window, but answers can arrive out of order).
    static func later(_ a: LimitWindowRecord?, _ b: LimitWindowRecord) -> LimitWindowRecord {
        guard let a else { return b }
        if a.start != b.start { return a.start > b.start ? a : b }
        return a.used >= b.used ? a : b
    }

    private func remember(_ subject: Principal, _ windows: [SharedWindow], _ used: [Int64]) {
        let mono = clock.monotonic()
        known.withLock { k in
            var entry = k[subject] ?? Known(lastSeen: mono)
            for (w, u) in zip(windows, used) {
                entry.windows[w.kind] = Self.later(
                    entry.windows[w.kind], LimitWindowRecord(subject: subject.description, kind: w.kind, start: w.start, used: u))
            }
            k[subject] = entry
        }
    }


    private func refusal(_ kind: LimitKind, _ limits: EffectiveLimits, _ w: SharedWindow, used: Int64, needed: Int64)
        -> LimitExceeded
    {
        let end = kind.period!.next(after: w.start)
        return LimitExceeded(
            kind: kind, plan: limits.plan, limit: w.limit ?? 0, retryAfter: max(1, end - clock.wall()), resetsAt: end,
            used: used, needed: needed)
    }

    /// The shared windows of `slotted` kinds, at the windows containing `now`.
    static func windows(_ slotted: [RateLimiter.Slotted], _ limits: EffectiveLimits, now: Int64) -> [SharedWindow] {
        slotted.map { s in
            SharedWindow(kind: s.kind.storedWindow!, start: s.kind.period!.start(containing: now), limit: limits.limits[s.kind])
        }
    }
}

/// What one node knows of a subject's counts (`SharedLimiter.knownCounts`), as the others ask it
/// while the store is unreachable.
public struct KnownCounts: Sendable, Codable, Equatable {
    /// The last stored counts this node was answered, any window start.
    public var windows: [LimitWindowRecord]
    /// Whether it read all of the subject's windows (a window it doesn't list is then 0).
    public var read: Bool
    /// Bytes its transfers in flight reserved, and finished ones not yet stored.
    public var pendingBytes: Int64

    public init(windows: [LimitWindowRecord], read: Bool, pendingBytes: Int64) {
        self.windows = windows
        self.read = read
        self.pendingBytes = pendingBytes
    }
}

/// A subject's counts as the live nodes together knew them when the store went away: per stored
/// window name, the largest count any node was answered for the current window (every charge
/// answers the stored count, so the node that charged last knows the final one).
struct DegradedBase: Sendable {
    var used: [String: Int64] = [:]
    var pendingBytes: Int64 = 0

    init(_ reports: [KnownCounts], now: Int64) {
        let anyRead = reports.contains(where: \.read)
        for kind in LimitKind.windowed {
            guard let name = kind.storedWindow, let period = kind.period else { continue }
            let start = period.start(containing: now)
            let seen = reports.flatMap(\.windows).filter { $0.kind == name }
            if seen.isEmpty {
                if anyRead { used[name] = 0 }
                continue
            }
            used[name] = seen.map { $0.start >= start ? $0.used : 0 }.max() ?? 0
        }
        pendingBytes = reports.reduce(0) { $0 + $1.pendingBytes }
    }
}
