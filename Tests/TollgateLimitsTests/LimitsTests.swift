import Foundation
import Synchronization
import RegistryCore
import Testing
import TollgateSQLite

@testable import TollgateLimits

/// A clock tests move by hand: `advance` moves both clocks, `stepWall` only the wall clock.
/// A clock tests move by hand: `advance` moves both clocks, `stepWall` only the wall clock.
final class ManualClock: Sendable {
    private let state: Mutex<(wall: Int64, monotonic: UInt64)>

    /// 2026-11-25T13:00:00Z by default: inside the 12:00–18:00 pull window.
    init(wall: Int64 = 1_795_611_600, monotonic: UInt64 = 5_000_000_000_000) { state = Mutex((wall, monotonic)) }

    func advance(_ seconds: Double) {
        state.withLock {
            $0.wall += Int64(seconds.rounded(.down))
            $0.monotonic += UInt64(seconds * 1e9)
        }
    }
    func stepWall(_ seconds: Int64) { state.withLock { $0.wall += seconds } }
    func setMonotonic(_ ns: UInt64) { state.withLock { $0.monotonic = ns } }
    var wall: Int64 { state.withLock { $0.wall } }
    var clock: LimitClock {
        LimitClock(
            wallNanos: { self.state.withLock { $0.wall } * 1_000_000_000 }, monotonic: { self.state.withLock { $0.monotonic } })
    }
}

func limiter(_ limits: [LimitKind: Int64], clock: ManualClock, anonymous: [LimitKind: Int64] = [:]) -> RateLimiter {
    let plans = PlanBook(
        plans: [
            "p": Plan(name: "p", limits: PlanLimits(limits)),
            "anonymous": Plan(name: "anonymous", limits: PlanLimits(anonymous)),
        ], defaultPlan: "p")
    return RateLimiter(plans: plans, clock: clock.clock)
}

extension Result {
    var succeeded: Bool { if case .success = self { true } else { false } }
    var failure: Failure? { if case .failure(let f) = self { f } else { nil } }
}

struct TokenBucketTests {
    @Test func burstThenRefill() {
        var b = TokenBucket(capacity: 60, per: 60, monotonic: 0)
        for _ in 0..<60 { #expect(b.take(0) == nil) }
        #expect(b.take(0) == 1)  // one token per second
        #expect(b.take(500_000_000) == 1)  // half a token: still one second (rounded up)
        #expect(b.take(1_000_000_000) == nil)
        #expect(b.take(1_000_000_000) != nil)
        // A long pause refills to capacity, never beyond.
        var full = b
        for _ in 0..<60 { #expect(full.take(3_600_000_000_000) == nil) }
        #expect(full.take(3_600_000_000_000) != nil)
    }

    @Test func clockGoingBackwardsGrantsNothingAndRecovers() {
        var b = TokenBucket(capacity: 2, per: 60, monotonic: 100_000_000_000)
        #expect(b.take(100_000_000_000) == nil)
        #expect(b.take(100_000_000_000) == nil)
        #expect(b.take(10_000_000_000) != nil)  // clock jumped back 90 s: still empty
        // ...and refills from the new reading, not after the old one comes round again.
        #expect(b.take(40_000_000_000) == nil)
    }

    @Test func resizedKeepsTokensWithinNewCapacity() {
        var b = TokenBucket(capacity: 100, per: 60, monotonic: 0)
        for _ in 0..<10 { _ = b.take(0) }
        #expect(b.resized(capacity: 5, per: 60, monotonic: 0).remaining == 5)
        #expect(b.resized(capacity: 1000, per: 60, monotonic: 0).remaining == 90)
    }
}

struct WindowTests {
    @Test func windowsAlignToUTC() {
        let t: Int64 = 1_795_611_600  // 2026-11-25T13:00:00Z
        #expect(CivilDate.timestamp(t) == "2026-11-25T13:00:00Z")
        #expect(CivilDate.timestamp(WindowPeriod.sixHours.start(containing: t)) == "2026-11-25T12:00:00Z")
        #expect(CivilDate.timestamp(WindowPeriod.day.start(containing: t)) == "2026-11-25T00:00:00Z")
        #expect(CivilDate.timestamp(WindowPeriod.month.start(containing: t)) == "2026-11-01T00:00:00Z")
        #expect(CivilDate.timestamp(WindowPeriod.month.next(after: WindowPeriod.month.start(containing: t))) == "2026-12-01T00:00:00Z")
        let dec = CivilDate(year: 2026, month: 12, day: 31).daysSinceEpoch * 86400
        #expect(CivilDate.timestamp(WindowPeriod.month.next(after: WindowPeriod.month.start(containing: dec))) == "2027-01-01T00:00:00Z")
        #expect(CivilDate(parsing: "2024-02-29")?.daysSinceEpoch == CivilDate(unixSeconds: 1_709_164_800).daysSinceEpoch)
        #expect(CivilDate(parsing: "2024-13-01") == nil)
        #expect(CivilDate(daysSinceEpoch: 0).description == "1970-01-01")
    }

    @Test func windowEndsAfterItsLengthHasElapsed() {
        let clock = ManualClock()  // 13:00, window 12:00–18:00: 5 h left
        var w = LimitWindow(period: .sixHours, wallNanos: (clock.wall) * 1_000_000_000, monotonic: 0)
        w.add(3)
        #expect(w.secondsLeft == 5 * 3600)
        w.advance(wallNanos: (clock.wall + 4 * 3600) * 1_000_000_000, monotonic: 4 * 3600 * 1_000_000_000)
        #expect(w.used == 3)
        w.advance(wallNanos: (clock.wall + 5 * 3600) * 1_000_000_000, monotonic: 5 * 3600 * 1_000_000_000)
        #expect(w.used == 0)
        #expect(CivilDate.timestamp(w.start) == "2026-11-25T18:00:00Z")
        #expect(w.secondsLeft == 6 * 3600)
    }

    @Test func wallClockStepsNeitherResetNorStretch() {
        let wall: Int64 = 1_795_611_600
        var w = LimitWindow(period: .day, wallNanos: (wall) * 1_000_000_000, monotonic: 0)
        w.add(100)
        // Wall clock jumps a week ahead, but only a minute really passed: same window.
        w.advance(wallNanos: (wall + 7 * 86400) * 1_000_000_000, monotonic: 60_000_000_000)
        #expect(w.used == 100)
        // Wall clock jumps a year back: the window still ends when its time is up (11 h after 13:00).
        w.advance(wallNanos: (wall - 365 * 86400) * 1_000_000_000, monotonic: 11 * 3600 * 1_000_000_000)
        #expect(w.used == 0)
        // ...and the next window's label still moves forward, its length at most a day.
        #expect(CivilDate.timestamp(w.start) == "2026-11-26T00:00:00Z")
        #expect(w.secondsLeft <= 86400)
    }

    @Test func aWindowEndsOnTheBoundaryNotASecondLater() {
        // First seen 0.9 s into a second, 10 s before 18:00.
        let wallNanos: Int64 = (1_795_629_600 - 10) * 1_000_000_000 + 900_000_000
        var w = LimitWindow(period: .sixHours, wallNanos: wallNanos, monotonic: 0)
        #expect(w.secondsLeft == 10)  // 9.1 s, rounded up
        #expect(CivilDate.timestamp(w.end) == "2026-11-25T18:00:00Z")
        w.add(1)
        w.advance(wallNanos: wallNanos + 9_100_000_000, monotonic: 9_100_000_000)
        #expect(w.used == 0)
    }

    @Test func restoredOnlyWhenSameWindow() {
        let wall: Int64 = 1_795_611_600
        let start = WindowPeriod.sixHours.start(containing: wall)
        #expect(LimitWindow(period: .sixHours, wallNanos: (wall) * 1_000_000_000, monotonic: 0, restoring: (start, 7)).used == 7)
        #expect(LimitWindow(period: .sixHours, wallNanos: (wall) * 1_000_000_000, monotonic: 0, restoring: (start - 21600, 7)).used == 0)
    }
}

struct UsageLedgerTests {
    @Test func countsDrainAndPutBack() {
        let clock = ManualClock()
        let ledger = UsageLedger(metrics: nil, wall: { clock.wall })
        ledger.recordRequest(user: UserName("a")!, upstream: "docker.io", pull: true)
        ledger.recordRequest(user: UserName("a")!, upstream: "docker.io", pull: false)
        ledger.recordBytes(user: UserName("a")!, upstream: "docker.io", bytes: 100, fromCache: true)
        ledger.recordBytes(user: UserName("a")!, upstream: "docker.io", bytes: 50, fromCache: false)
        ledger.recordRequest(user: nil, upstream: "-", pull: false)
        #expect(ledger.pending(user: UserName("a")!).count == 1)
        let rows = ledger.drain().sorted { $0.user < $1.user }
        #expect(rows.count == 2)
        let a = rows[1]
        #expect(a.day == "2026-11-25")
        #expect((a.requests, a.pulls, a.bytesSent, a.hitBytes, a.upstreamBytes) == (2, 1, 150, 100, 50))
        #expect(ledger.drain().isEmpty)
        ledger.putBack(rows)
        ledger.recordRequest(user: UserName("a")!, upstream: "docker.io", pull: false)
        let again = ledger.drain().first { $0.user == "a" }
        #expect(again?.requests == 3)
    }

    @Test func storeAddsBatchesAndKeepsSettings() async throws {
        let dir = NSTemporaryDirectory() + "tollgate-limits-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(path: dir + "/t.sqlite")
        var r = UsageRecord(user: "a", day: "2026-11-25", upstream: "docker.io")
        r.requests = 2
        r.bytesSent = 10
        try await store.addUsage([r, r])
        try await store.saveLimitWindows([LimitWindowRecord(subject: "u:a", kind: "pulls", start: 10, used: 3)])
        try await store.saveLimitWindows([LimitWindowRecord(subject: "u:a", kind: "pulls", start: 10, used: 4)])
        let rows = try await store.usage(since: "2026-11-01", user: "a")
        #expect(rows.count == 1)
        #expect(rows.first?.requests == 4)
        #expect(rows.first?.bytesSent == 20)
        #expect(try await store.usage(since: "2026-11-26", user: nil).isEmpty)
        #expect(try await store.limitWindows(since: 0).map(\.used) == [4])
        let v0 = try await store.settingsVersion()
        let settings = UserLimitSettings(plan: "pro", overrides: [.pullsPer6h: 5, .bytesPerDay: Int64?.none])
        try await store.putUserSettings(PlanBook.record(user: "a", settings))
        #expect(try await store.settingsVersion() == v0 + 1)
        #expect(PlanBook.settings(from: try await store.userSettings())["a"] == settings)
        try await store.putUserSettings(UserSettingsRecord(user: "a"))  // empty: removed
        #expect(try await store.userSettings().isEmpty)

        // A stored limit this version doesn't know is named, not silently dropped.
        try await store.putUserSettings(
            UserSettingsRecord(user: "b", plan: nil, overrides: ["pulls_per_day": 3, "pulls_per_6h": 1]))
        let stored = try await store.userSettings()
        #expect(PlanBook.unknownLimitKeys(in: stored).map { "\($0.user) \($0.key)" } == ["b pulls_per_day"])
        #expect(PlanBook.settings(from: stored)["b"]?.overrides == [.pullsPer6h: 1])
    }

    @Test func flushWritesBatchesAndReloadsSettings() async throws {
        let dir = NSTemporaryDirectory() + "tollgate-limits-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(path: dir + "/t.sqlite")
        let clock = ManualClock()
        let l = limiter([.pullsPer6h: 2], clock: clock)
        let ledger = UsageLedger(metrics: nil, wall: { clock.wall })
        try await LimitsService.load(limiter: l, store: store)
        let service = LimitsService(
            limiter: l, ledger: ledger, usageStore: store, windowStore: store, logger: .init(label: "t"))
        _ = l.admit(.user(UserName("a")!), pull: true)
        ledger.recordRequest(user: UserName("a")!, upstream: "docker.io", pull: true)
        await service.flush()
        #expect(try await store.usage(since: "2026-11-25", user: "a").first?.pulls == 1)
        #expect(try await store.limitWindows(since: 0).count == 3)
        // A second server process (restart) starts from the stored windows.
        let restarted = limiter([.pullsPer6h: 1], clock: clock)
        try await LimitsService.load(limiter: restarted, store: store)
        #expect(restarted.admit(.user(UserName("a")!), pull: true).failure?.kind == .pullsPer6h)
    }
}
