import Foundation
import RegistryCore
import Synchronization
import Testing
import TollgateInMemoryStores
import TollgateLimits

/// Two or three nodes' `SharedLimiter`s on one in-memory store: the cluster never passes a limit.
struct SharedLimiterTests {
    static let alice = Principal.user(UserName("alice")!)

    static func plans(_ limits: [LimitKind: Int64]) -> PlanBook {
        var p = PlanLimits()
        for (k, v) in limits { p[k] = v }
        return PlanBook(plans: ["default": Plan(name: "default", limits: p)], defaultPlan: "default")
    }

    /// Runs `n` admissions at once; how many succeeded.
    static func successes(
        _ n: Int, _ admit: @escaping @Sendable (Int) async -> Result<Admission, LimitExceeded>
    ) async -> Int {
        await withTaskGroup(of: Bool.self) { group in
            for i in 0..<n { group.addTask { !(await admit(i)).isFailure } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
    }

    static func nodes(_ n: Int, _ store: any SharedLimitStore, _ plans: PlanBook) -> [SharedLimiter] {
        (1...n).map { SharedLimiter(plans: plans, store: store, node: "n\($0)", liveNodes: { n }, logger: .init(label: "t")) }
    }

    @Test func pullsAreExactAcrossNodes() async throws {
        let limiters = Self.nodes(3, InMemoryDatabase(), Self.plans([.pullsPer6h: 30]))
        let admitted = await Self.successes(64) { i in await limiters[i % 3].admit(Self.alice, pull: true, request: true) }
        #expect(admitted == 30)
        guard case .failure(let no) = await limiters[0].admit(Self.alice, pull: true, request: true) else {
            Issue.record("admitted a 31st pull")
            return
        }
        #expect(no.kind == .pullsPer6h && no.limit == 30 && no.retryAfter > 0 && no.resetsAt != nil)
        // A refunded pull can be taken again, on another node.
        await limiters[1].refundPull(Self.alice)
        guard case .success(let a) = await limiters[2].admit(Self.alice, pull: true, request: true) else {
            Issue.record("refund not seen")
            return
        }
        #expect(a.pullsRemaining == 0 && a.pullLimitHeader == "30;w=21600")
        #expect(await limiters[0].status(Self.alice).windows[LimitKind.pullsPer6h.windowSlot!].used == 30)
    }

    @Test func transfersAndBytesAreExactAcrossNodes() async throws {
        let store = InMemoryDatabase()
        let limiters = Self.nodes(2, store, Self.plans([.concurrentTransfers: 2, .bytesPerDay: 1000]))
        guard case .success(let t1) = await limiters[0].beginTransfer(Self.alice, bytes: 400),
            case .success(let t2) = await limiters[1].beginTransfer(Self.alice, bytes: 400)
        else {
            Issue.record("refused")
            return
        }
        guard case .failure(let slots) = await limiters[1].beginTransfer(Self.alice, bytes: 1) else {
            Issue.record("a third transfer")
            return
        }
        #expect(slots.kind == .concurrentTransfers)
        t1.finish(sent: 400)
        try await Task.sleep(for: .milliseconds(100))  // the settle runs in a task
        // 400 sent + 400 reserved: 300 more passes 1000.
        guard case .failure(let bytes) = await limiters[0].beginTransfer(Self.alice, bytes: 300) else {
            Issue.record("passed the byte quota")
            return
        }
        #expect(bytes.kind == .bytesPerDay && bytes.used == 800 && bytes.needed == 300)
        #expect(await limiters[0].precheckTransfer(Self.alice) == nil)
        t2.finish(sent: 600)  // a transfer under way is never cut
        try await Task.sleep(for: .milliseconds(100))
        #expect(await limiters[1].precheckTransfer(Self.alice)?.kind == .bytesPerDay)
        let status = await limiters[0].status(Self.alice)
        #expect(status.activeTransfers == 0 && status.windows[LimitKind.bytesPerDay.windowSlot!].used == 1000)
    }

    @Test func farFromTheLimitPullsComeInSlicesAndWhatIsLeftGoesBack() async throws {
        let store = InMemoryDatabase()
        let limiters = Self.nodes(2, store, Self.plans([.pullsPer6h: 100_000]))
        func stored() async throws -> Int64 {
            try await store.windows(subject: Self.alice.description).first { $0.kind == LimitKind.pullsPer6h.storedWindow! }?.used ?? 0
        }
        func admitted(_ l: SharedLimiter, _ n: Int) async -> Int {
            var ok = 0
            for _ in 0..<n { if case .success = await l.admit(Self.alice, pull: true, request: false) { ok += 1 } }
            return ok
        }
        // The first pull is charged alone (the count isn't known yet); the next takes a slice.
        #expect(await admitted(limiters[0], 1) == 1)
        #expect(try await stored() == 1)
        #expect(await admitted(limiters[0], 1) == 1)
        #expect(try await stored() == 2 + SharedLimiter.pullSlice)
        // Served from the slice without asking; the status shows the pulls served, not the slice.
        #expect(await admitted(limiters[0], 30) == 30)
        #expect(try await stored() == 2 + SharedLimiter.pullSlice)
        #expect(await limiters[0].status(Self.alice).windows[LimitKind.pullsPer6h.windowSlot!].used == 32)
        #expect(await admitted(limiters[1], 5) == 5)  // another node: its own first charge, then a slice
        // After a second of quiet the rest goes back: the count is exactly the pulls served.
        try await Task.sleep(for: .milliseconds(1100))
        for l in limiters { await l.tick() }
        #expect(try await stored() == 37)
    }

    @Test func nearTheLimitEveryPullIsChargedAsItComes() async throws {
        let store = InMemoryDatabase()
        let limiters = Self.nodes(3, store, Self.plans([.pullsPer6h: SharedLimiter.pullSliceRoom + 10]))
        var served = 0
        for i in 0..<40 { if case .success = await limiters[i % 3].admit(Self.alice, pull: true, request: false) { served += 1 } }
        let used = try await store.windows(subject: Self.alice.description).first?.used
        // Slices while 4096 or more were left; then each pull alone: the 40 all fit, and the store
        // holds the served pulls plus at most a slice per node.
        #expect(served == 40)
        #expect(used.map { $0 >= 40 && $0 <= 40 + 3 * SharedLimiter.pullSlice } == true, "\(String(describing: used))")
        // A limit in reach: 64 parallel pulls over three nodes, exactly the limit admitted.
        let tight = Self.nodes(3, InMemoryDatabase(), Self.plans([.pullsPer6h: 100]))
        let admitted = await Self.successes(150) { i in await tight[i % 3].admit(Self.alice, pull: true, request: true) }
        #expect(admitted == 100)
    }

    @Test func requestRatesAreLeasedInSlices() async throws {
        let store = InMemoryDatabase()
        let limiters = Self.nodes(3, store, Self.plans([.requestsPerMinute: 60]))
        // Everything on one node: it gets the whole minute's figure.
        var one = 0
        for _ in 0..<100 { if case .success = await limiters[0].admit(Self.alice, pull: false, request: true) { one += 1 } }
        #expect(one >= 60 && one <= 62, "\(one)")
        // Spread over the three: never more than the bucket holds.
        let bob = Principal.user(UserName("bob")!)
        let spread = await Self.successes(150) { i in await limiters[i % 3].admit(bob, pull: false, request: true) }
        #expect(spread <= 62 && spread >= 50, "\(spread)")
        // What a node holds unused goes back when it has been idle.
        let held = try await store.requestTokens(subject: bob.description, capacity: 60, perSecond: 1)
        try await Task.sleep(for: .milliseconds(1100))
        for l in limiters { await l.tick() }
        #expect(try await store.requestTokens(subject: bob.description, capacity: 60, perSecond: 1) >= held + 1)
    }

    /// The nodes ask each other what they know while the store is away: the one that charged last
    /// knows the final count, so a burst on one node just before the outage isn't granted again.
    @Test func aBurstJustBeforeTheOutageIsNotGrantedAgain() async throws {
        let store = FlakyStore(base: InMemoryDatabase())
        let limiters = Self.nodes(3, store, Self.plans([.pullsPer6h: 20]))
        Self.connect(limiters)
        for l in limiters { _ = await l.admit(Self.alice, pull: true, request: true) }
        for l in limiters { await l.tick() }
        for _ in 0..<14 { _ = await limiters[0].admit(Self.alice, pull: true, request: true) }  // 17 used
        store.down.store(true, ordering: .relaxed)
        let granted = await Self.successes(30) { i in await limiters[i % 3].admit(Self.alice, pull: true, request: true) }
        #expect(granted == 3, "17 used of 20: one more on each of the 3 nodes, got \(granted)")
        // A node that can't reach the others grants nothing of a windowed limit.
        let alone = Self.nodes(2, store, Self.plans([.pullsPer6h: 20]))
        alone[0].setPeers { _ in nil }
        #expect(await alone[0].admit(Self.alice, pull: true, request: true).isFailure)
    }

    /// Wires each limiter's peers to the others' `knownCounts` (as `/_cluster/limits` does).
    static func connect(_ limiters: [SharedLimiter]) {
        for (i, l) in limiters.enumerated() {
            let others = limiters.enumerated().filter { $0.offset != i }.map(\.element)
            l.setPeers { subject in others.map { $0.knownCounts(subject) } }
        }
    }

    @Test func withoutTheStoreEachNodeDecidesWithItsSliceAndChargesItLater() async throws {
        let base = InMemoryDatabase()
        let store = FlakyStore(base: base)
        let limiters = Self.nodes(2, store, Self.plans([.pullsPer6h: 30]))
        Self.connect(limiters)
        for _ in 0..<10 { _ = await limiters[0].admit(Self.alice, pull: true, request: true) }
        _ = await limiters[1].admit(Self.alice, pull: true, request: true)
        for l in limiters { await l.tick() }  // each reads where alice stands: 11 used
        _ = await limiters[0].admit(Self.alice, pull: true, request: true)  // n1 saw 12
        store.down.store(true, ordering: .relaxed)
        // The nodes agree on 12 used (n1 charged last): 18 left, 9 each.
        var granted = [0, 0]
        for node in 0..<2 {
            for _ in 0..<20 {
                if case .success = await limiters[node].admit(Self.alice, pull: true, request: true) { granted[node] += 1 }
            }
            #expect(limiters[node].isDegraded)
        }
        #expect(granted == [9, 9], "\(granted)")
        #expect(12 + granted[0] + granted[1] <= 30)
        // Someone never seen gets nothing from a node that can't ask.
        #expect(await limiters[0].admit(.user(UserName("carol")!), pull: true, request: true).isFailure)
        store.down.store(false, ordering: .relaxed)
        for l in limiters { await l.tick() }
        #expect(!limiters[0].isDegraded && !limiters[1].isDegraded)
        #expect(try await base.windows(subject: Self.alice.description).first?.used == 30)
    }
}

extension Result {
    var isFailure: Bool {
        if case .failure = self { return true }
        return false
    }
}

/// A store that fails every call while `down`.
final class FlakyStore: SharedLimitStore {
    let base: InMemoryDatabase
    let down = Atomic<Bool>(false)

    init(base: InMemoryDatabase) { self.base = base }

    struct Unreachable: Error {}
    func check() throws { if down.load(ordering: .relaxed) { throw Unreachable() } }

    func charge(subject: String, windows: [SharedWindow], amount: Int64) async throws -> SharedChargeOutcome {
        try check()
        return try await base.charge(subject: subject, windows: windows, amount: amount)
    }
    func chargeUpTo(subject: String, window: SharedWindow, want: Int64) async throws -> (granted: Int64, used: Int64) {
        try check()
        return try await base.chargeUpTo(subject: subject, window: window, want: want)
    }
    func refund(subject: String, windows: [SharedWindow], amount: Int64) async throws {
        try check()
        try await base.refund(subject: subject, windows: windows, amount: amount)
    }
    func reserveTransfer(_ t: SharedTransfer, maxActive: Int64?, windows: [SharedWindow]) async throws -> SharedTransferOutcome {
        try check()
        return try await base.reserveTransfer(t, maxActive: maxActive, windows: windows)
    }
    func finishTransfer(id: String, subject: String, windows: [SharedWindow], sent: Int64) async throws -> [Int64] {
        try check()
        return try await base.finishTransfer(id: id, subject: subject, windows: windows, sent: sent)
    }
    func releaseTransfers(node: String) async throws -> Int {
        try check()
        return try await base.releaseTransfers(node: node)
    }
    func transfers(subject: String) async throws -> (active: Int64, reservedBytes: Int64) {
        try check()
        return try await base.transfers(subject: subject)
    }
    func windows(subject: String) async throws -> [LimitWindowRecord] {
        try check()
        return try await base.windows(subject: subject)
    }
    func leaseRequests(subject: String, capacity: Int64, perSecond: Double, want: Int64) async throws -> SharedRequestLease {
        try check()
        return try await base.leaseRequests(subject: subject, capacity: capacity, perSecond: perSecond, want: want)
    }
    func returnRequests(subject: String, capacity: Int64, count: Int64) async throws {
        try check()
        try await base.returnRequests(subject: subject, capacity: capacity, count: count)
    }
    func requestTokens(subject: String, capacity: Int64, perSecond: Double) async throws -> Double {
        try check()
        return try await base.requestTokens(subject: subject, capacity: capacity, perSecond: perSecond)
    }
}
