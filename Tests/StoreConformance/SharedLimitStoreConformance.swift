import Foundation
import Synchronization
import Testing
import TollgateCluster
import TollgateLimits

/// The contract of `SharedLimitStore` (the cluster's limit counters) and `NodeStore`.
public struct SharedLimitStoreConformance<Store: SharedLimitStore & NodeStore>: ConformanceSuite {
    let engine: Engine<Store>

    public init(_ engine: Engine<Store>) { self.engine = engine }

    public var checks: [Check] {
        [
            ("chargesStopAtTheLimitAllOrNothing", chargesStopAtTheLimitAllOrNothing),
            ("aLaterWindowStartsOverAnEarlierChargeCountsInTheStoredOne", aLaterWindowStartsOverAnEarlierChargeCountsInTheStoredOne),
            ("refundsOnlyTheSameWindow", refundsOnlyTheSameWindow),
            ("parallelChargesNeverPassTheLimit", parallelChargesNeverPassTheLimit),
            ("batchesGrantWhatFits", batchesGrantWhatFits),
            ("transfersReserveSlotsAndBytes", transfersReserveSlotsAndBytes),
            ("parallelReservationsNeverPassTheSlots", parallelReservationsNeverPassTheSlots),
            ("aNodesReservationsEndWithIt", aNodesReservationsEndWithIt),
            ("requestTokensAreLeasedAndReturned", requestTokensAreLeasedAndReturned),
            ("deadNodesLeaveTheLiveListAndTheirReservationsEnd", deadNodesLeaveTheLiveListAndTheirReservationsEnd),
            ("survivesARestart", survivesARestart),
        ]
    }

    static var pulls: SharedWindow { SharedWindow(kind: "pulls", start: 21600, limit: 3) }

    func chargesStopAtTheLimitAllOrNothing() async throws {
        let m = try await engine.open().store
        for n in 1...3 {
            #expect(try await m.charge(subject: "u:a", windows: [Self.pulls], amount: 1) == .counted([Int64(n)]))
        }
        #expect(try await m.charge(subject: "u:a", windows: [Self.pulls], amount: 1) == .refused(index: 0, used: 3))
        #expect(try await m.charge(subject: "u:b", windows: [Self.pulls], amount: 1) == .counted([1]))
        // Several windows: all or nothing.
        let day = SharedWindow(kind: "bytes_day", start: 86400, limit: 100)
        let month = SharedWindow(kind: "bytes_month", start: 0, limit: 150)
        #expect(try await m.charge(subject: "u:a", windows: [day, month], amount: 90) == .counted([90, 90]))
        #expect(try await m.charge(subject: "u:a", windows: [month, day], amount: 20) == .refused(index: 1, used: 90))
        #expect(try await m.windows(subject: "u:a").map(\.used) == [90, 90, 3])  // by kind name
        // Unlimited windows count whatever comes.
        let free = SharedWindow(kind: "bytes_day", start: 86400, limit: nil)
        #expect(try await m.charge(subject: "u:a", windows: [free], amount: 1000) == .counted([1090]))
        // A limit of 0 refuses everything.
        let none = SharedWindow(kind: "pulls", start: 21600, limit: 0)
        #expect(try await m.charge(subject: "u:c", windows: [none], amount: 1) == .refused(index: 0, used: 0))
    }

    func aLaterWindowStartsOverAnEarlierChargeCountsInTheStoredOne() async throws {
        let m = try await engine.open().store
        _ = try await m.charge(subject: "u:a", windows: [Self.pulls], amount: 3)
        var next = Self.pulls
        next.start += 21600
        #expect(try await m.charge(subject: "u:a", windows: [next], amount: 1) == .counted([1]))
        // A node whose clock lags still names the old window: its pull counts in the current one.
        #expect(try await m.charge(subject: "u:a", windows: [Self.pulls], amount: 1) == .counted([2]))
        #expect(try await m.windows(subject: "u:a") == [LimitWindowRecord(subject: "u:a", kind: "pulls", start: next.start, used: 2)])
    }

    func refundsOnlyTheSameWindow() async throws {
        let m = try await engine.open().store
        _ = try await m.charge(subject: "u:a", windows: [Self.pulls], amount: 2)
        try await m.refund(subject: "u:a", windows: [Self.pulls], amount: 1)
        #expect(try await m.windows(subject: "u:a").first?.used == 1)
        try await m.refund(subject: "u:a", windows: [Self.pulls], amount: 5)
        #expect(try await m.windows(subject: "u:a").first?.used == 0)
        var old = Self.pulls
        old.start -= 21600
        _ = try await m.charge(subject: "u:a", windows: [Self.pulls], amount: 2)
        try await m.refund(subject: "u:a", windows: [old], amount: 1)
        #expect(try await m.windows(subject: "u:a").first?.used == 2)
    }

    func parallelChargesNeverPassTheLimit() async throws {
        let m = try await engine.open().store
        let window = SharedWindow(kind: "pulls", start: 21600, limit: 30)
        let counted = Atomic<Int>(0)
        try await concurrently(tasks: 8, each: 8) { _, _ in
            if case .counted = try await m.charge(subject: "u:a", windows: [window], amount: 1) {
                counted.add(1, ordering: .relaxed)
            }
        }
        #expect(counted.load(ordering: .relaxed) == 30)
        #expect(try await m.windows(subject: "u:a").first?.used == 30)
    }

    func batchesGrantWhatFits() async throws {
        let m = try await engine.open().store
        let window = SharedWindow(kind: "pulls", start: 21600, limit: 10)
        #expect(try await m.chargeUpTo(subject: "u:a", window: window, want: 4) == (4, 4))
        #expect(try await m.chargeUpTo(subject: "u:a", window: window, want: 8) == (6, 10))
        #expect(try await m.chargeUpTo(subject: "u:a", window: window, want: 3) == (0, 10))
        var next = window
        next.start += 21600
        #expect(try await m.chargeUpTo(subject: "u:a", window: next, want: 3) == (3, 3))
        #expect(try await m.chargeUpTo(subject: "u:b", window: SharedWindow(kind: "pulls", start: 1, limit: 0), want: 2) == (0, 0))
        #expect(try await m.chargeUpTo(subject: "u:c", window: SharedWindow(kind: "pulls", start: 1, limit: nil), want: 5) == (5, 5))
        // Batches from several nodes at once never pass the limit together.
        let granted = Atomic<Int64>(0)
        let busy = SharedWindow(kind: "pulls", start: 21600, limit: 30)
        try await concurrently(tasks: 4, each: 8) { _, i in
            let (g, _) = try await m.chargeUpTo(subject: "u:d", window: busy, want: Int64(1 + i % 3))
            granted.add(g, ordering: .relaxed)
        }
        #expect(granted.load(ordering: .relaxed) == 30)
        #expect(try await m.windows(subject: "u:d").first?.used == 30)
    }

    func transfersReserveSlotsAndBytes() async throws {
        let m = try await engine.open().store
        let day = SharedWindow(kind: "bytes_day", start: 86400, limit: 100)
        func transfer(_ id: String, _ bytes: Int64, node: String = "n1") -> SharedTransfer {
            SharedTransfer(id: id, subject: "u:a", node: node, bytes: bytes)
        }
        #expect(try await m.reserveTransfer(transfer("t1", 60), maxActive: 2, windows: [day]) == .reserved([0]))
        // In flight counts: 60 reserved + 50 > 100.
        #expect(try await m.reserveTransfer(transfer("t2", 50), maxActive: 2, windows: [day]) == .refused(index: 0, used: 60))
        #expect(try await m.reserveTransfer(transfer("t2", 30), maxActive: 2, windows: [day]) == .reserved([0]))
        #expect(try await m.reserveTransfer(transfer("t3", 1), maxActive: 2, windows: [day]) == .tooMany(active: 2))
        #expect(try await m.transfers(subject: "u:a") == (2, 90))
        // Settled to what was sent.
        try await m.finishTransfer(id: "t1", subject: "u:a", windows: [day], sent: 40)
        try await m.finishTransfer(id: "t1", subject: "u:a", windows: [day], sent: 0)  // again: nothing more
        #expect(try await m.transfers(subject: "u:a") == (1, 30))
        #expect(try await m.windows(subject: "u:a").first?.used == 40)
        #expect(try await m.reserveTransfer(transfer("t4", 30), maxActive: 2, windows: [day]) == .reserved([40]))
        // Used up (40 + 60 reserved): even a transfer of unknown size (0 bytes) is refused.
        #expect(try await m.reserveTransfer(transfer("t5", 0), maxActive: 3, windows: [day]) == .refused(index: 0, used: 100))
        // A transfer under way is never cut: its bytes count past the limit.
        try await m.finishTransfer(id: "t2", subject: "u:a", windows: [day], sent: 90)
        #expect(try await m.windows(subject: "u:a").first?.used == 130)
    }

    func parallelReservationsNeverPassTheSlots() async throws {
        let m = try await engine.open().store
        let reserved = Atomic<Int>(0)
        try await concurrently(tasks: 8, each: 4) { task, i in
            let t = SharedTransfer(id: "t\(task)-\(i)", subject: "u:a", node: "n\(task % 3)", bytes: 10)
            if case .reserved = try await m.reserveTransfer(t, maxActive: 5, windows: []) {
                reserved.add(1, ordering: .relaxed)
            }
        }
        #expect(reserved.load(ordering: .relaxed) == 5)
        #expect(try await m.transfers(subject: "u:a") == (5, 50))
    }

    func aNodesReservationsEndWithIt() async throws {
        let m = try await engine.open().store
        for (i, node) in ["n1", "n2", "n1"].enumerated() {
            _ = try await m.reserveTransfer(
                SharedTransfer(id: "t\(i)", subject: "u:a", node: node, bytes: 5), maxActive: nil, windows: [])
        }
        #expect(try await m.releaseTransfers(node: "n1") == 2)
        #expect(try await m.transfers(subject: "u:a") == (1, 5))
        #expect(try await m.releaseTransfers(node: "n1") == 0)
    }

    func requestTokensAreLeasedAndReturned() async throws {
        let m = try await engine.open().store
        let slow = 1e-9  // no refill to speak of during the check
        #expect(try await m.requestTokens(subject: "u:a", capacity: 10, perSecond: slow) == 10)
        #expect(try await m.leaseRequests(subject: "u:a", capacity: 10, perSecond: slow, want: 4).granted == 4)
        #expect(try await m.leaseRequests(subject: "u:a", capacity: 10, perSecond: slow, want: 10).granted == 6)
        let empty = try await m.leaseRequests(subject: "u:a", capacity: 10, perSecond: 0.5, want: 1)
        #expect(empty.granted == 0 && empty.waitSeconds > 0 && empty.waitSeconds <= 2)
        try await m.returnRequests(subject: "u:a", capacity: 10, count: 3)
        #expect(try await m.leaseRequests(subject: "u:a", capacity: 10, perSecond: slow, want: 5).granted == 3)
        // Never more than the capacity, whatever comes back.
        try await m.returnRequests(subject: "u:a", capacity: 10, count: 50)
        #expect(try await m.leaseRequests(subject: "u:a", capacity: 10, perSecond: slow, want: 50).granted == 10)
        // Refilled at the rate, on the store's clock.
        let fast = try await m.leaseRequests(subject: "u:b", capacity: 100, perSecond: 100, want: 100)
        #expect(fast.granted == 100)
        try await Task.sleep(for: .milliseconds(300))
        let refilled = try await m.leaseRequests(subject: "u:b", capacity: 100, perSecond: 100, want: 100).granted
        #expect(refilled >= 20 && refilled <= 60, "\(refilled)")
    }

    func deadNodesLeaveTheLiveListAndTheirReservationsEnd() async throws {
        let m = try await engine.open().store
        #expect(try await m.heartbeat(NodeRecord(name: "n1", url: "http://a"), deadAfter: 5).map(\.name) == ["n1"])
        #expect(try await m.heartbeat(NodeRecord(name: "n2", url: "http://b"), deadAfter: 5) == [
            NodeRecord(name: "n1", url: "http://a"), NodeRecord(name: "n2", url: "http://b"),
        ])
        _ = try await m.reserveTransfer(
            SharedTransfer(id: "t1", subject: "u:a", node: "n2", bytes: 5), maxActive: nil, windows: [])
        _ = try await m.reserveTransfer(
            SharedTransfer(id: "t2", subject: "u:a", node: "n1", bytes: 5), maxActive: nil, windows: [])
        try await Task.sleep(for: .milliseconds(400))
        // n1 beats again; n2 doesn't: after 0.3 s without a heartbeat it is dead, its transfers end.
        #expect(try await m.heartbeat(NodeRecord(name: "n1", url: "http://a"), deadAfter: 0.3).map(\.name) == ["n1"])
        #expect(try await m.transfers(subject: "u:a") == (1, 5))
        // A node that leaves is gone at once.
        _ = try await m.heartbeat(NodeRecord(name: "n3", url: "http://c"), deadAfter: 5)
        try await m.leave(node: "n3")
        #expect(try await m.heartbeat(NodeRecord(name: "n1", url: "http://a"), deadAfter: 5).map(\.name) == ["n1", "n2"])
    }

    func survivesARestart() async throws {
        let (m, reopen) = try await engine.open()
        _ = try await m.charge(subject: "u:a", windows: [Self.pulls], amount: 2)
        _ = try await m.reserveTransfer(
            SharedTransfer(id: "t1", subject: "u:a", node: "n1", bytes: 7), maxActive: nil, windows: [])
        let again = try await reopen()
        #expect(try await again.windows(subject: "u:a").first?.used == 2)
        #expect(try await again.transfers(subject: "u:a") == (1, 7))
    }
}
