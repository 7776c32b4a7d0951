import RegistryCore
import Testing

@testable import TollgateLimits

/// Each limit kind's refusal, as clients see it (message, detail, Retry-After).
struct LimitRefusalTests {
    @Test(arguments: [
        (
            LimitExceeded(kind: .requestsPerMinute, plan: "free", limit: 60, retryAfter: 2),
            "request rate limit reached: 60 requests per minute (plan free); retry in 2 s", "requests_per_minute"
        ),
        (
            LimitExceeded(kind: .pullsPer6h, plan: "free", limit: 3, retryAfter: 9480, resetsAt: 1_795_629_600),
            "pull rate limit reached: 3 pulls per 6 hours (plan free); resets in 2 h 38 min at 2026-11-25T18:00:00Z",
            "pulls_per_6h"
        ),
        (
            LimitExceeded(
                kind: .bytesPerDay, plan: "free", limit: 1024, retryAfter: 39600, resetsAt: 1_795_651_200, used: 1000,
                needed: 500),
            "daily transfer quota reached: 1000 B of 1 KiB used (plan free), this blob needs 500 B; resets in 11 h 0 min at 2026-11-26T00:00:00Z",
            "bytes_per_day"
        ),
        (
            LimitExceeded(
                kind: .bytesPerMonth, plan: "pro", limit: 5 << 30, retryAfter: 472800, resetsAt: 1_796_083_200,
                used: 5 << 30),
            "monthly transfer quota reached: 5 GiB of 5 GiB used (plan pro); resets in 5 d 11 h at 2026-12-01T00:00:00Z",
            "bytes_per_month"
        ),
        (
            LimitExceeded(kind: .concurrentTransfers, plan: "free", limit: 2, retryAfter: 1),
            "too many simultaneous downloads: 2 allowed (plan free); retry when one finishes", "concurrent_transfers"
        ),
    ])
    func refusal(_ no: LimitExceeded, _ message: String, _ detail: String) {
        #expect(no.message == message)
        #expect(no.registryError.message == message)
        #expect(no.registryError.detail == detail)
        #expect(no.registryError.retryAfter == Int(no.retryAfter))
    }
}

/// Each limit kind is one description; names round-trip and unknown names are no kind.
struct LimitDescriptionTests {
    /// The names configuration files, stored settings and stored windows already hold: changing
    /// one orphans what is there.
    @Test func namesAreThoseExistingFilesHold() {
        #expect(
            LimitKind.allCases.map(\.key) == [
                "requests_per_minute", "pulls_per_6h", "bytes_per_day", "bytes_per_month", "concurrent_transfers",
            ])
        #expect(
            LimitKind.allCases.map(\.about.flag) == [
                "requests-per-minute", "pulls-per-6h", "bytes-per-day", "bytes-per-month", "concurrent-transfers",
            ])
        #expect(
            LimitKind.allCases.map(\.about.reason) == ["requests", "pulls", "bytes_day", "bytes_month", "concurrent_transfers"])
        #expect(LimitKind.windowed == [.pullsPer6h, .bytesPerDay, .bytesPerMonth])
        #expect(LimitKind.windowed.map(\.storedWindow) == ["pulls", "bytes_day", "bytes_month"])
        #expect(LimitKind.windowed.map(\.period) == [.sixHours, .day, .month])
        #expect(LimitKind.windowed.map(\.column) == ["PULLS/6H", "TODAY", "MONTH"])
        #expect(LimitKind.allCases.filter { $0.about.unit == .bytes } == [.bytesPerDay, .bytesPerMonth])
        #expect(LimitKind.advertised == .pullsPer6h)
    }

    @Test(arguments: LimitKind.allCases) func roundTrips(_ kind: LimitKind) {
        #expect(LimitKind(key: kind.key) == kind)
        #expect(kind.isEnforceable)
        if let stored = kind.storedWindow {
            #expect(LimitKind(storedWindow: stored) == kind)
            #expect(kind.windowSlot.map { LimitKind.windowed[$0] } == kind)
            #expect(kind.period != nil && kind.column != nil)
        } else {
            #expect(kind.windowSlot == nil && kind.period == nil && kind.column == nil)
        }
        // Stored overrides are named by key, and read back.
        let settings = UserLimitSettings(overrides: [kind: 7])
        let record = PlanBook.record(user: "u", settings)
        #expect(record.overrides == [kind.key: 7])
        #expect(PlanBook.settings(from: [record])["u"] == settings)
        #expect(PlanBook.unknownLimitKeys(in: [record]).isEmpty)
    }

    @Test func unknownNamesAreNoKind() {
        for name in ["pulls_per_day", "", "PULLS_PER_6H", "pulls-per-6h", "pulls", "pullsPer6h"] {
            #expect(LimitKind(key: name) == nil, "\(name)")
        }
        for name in ["pulls_day", "", "pulls_per_6h", "sixHours", "requests_per_minute", "concurrent_transfers"] {
            #expect(LimitKind(storedWindow: name) == nil, "\(name)")
        }
        let record = UserSettingsRecord(user: "u", overrides: ["pulls_per_day": 1, "bytes_per_day": 2])
        #expect(PlanBook.unknownLimitKeys(in: [record]).map(\.key) == ["pulls_per_day"])
        #expect(PlanBook.settings(from: [record])["u"]?.overrides == [.bytesPerDay: 2])
    }

    /// What the limiter keeps per subject: one bucket, one transfer count, windows by slot; and
    /// the names each table or report shows are distinct.
    @Test func descriptionsFitTheLimiter() {
        func distinct(_ names: [String]) -> Bool { Set(names).count == names.count }
        #expect(distinct(LimitKind.allCases.map(\.key)))
        #expect(distinct(LimitKind.allCases.map(\.about.reason)))
        #expect(distinct(LimitKind.windowed.compactMap(\.storedWindow)))
        #expect(distinct(LimitKind.windowed.compactMap(\.column)))
        #expect(LimitKind.allCases.filter { $0.about.counts == .requests }.count <= 1)
        #expect(LimitKind.allCases.filter { $0.about.counts == .transfers }.count <= 1)
        #expect(LimitKind.allCases.filter(\.about.advertised).count <= 1)
        #expect(LimitKind.advertised.map { $0.about.counts == .pulls && $0.windowSlot != nil } ?? true)
        #expect(LimitKind.windowed.indices.map { LimitKind.windowed[$0].windowSlot } == Array(LimitKind.windowed.indices))
        #expect(RateLimiter.pullWindows.map(\.kind) + RateLimiter.byteWindows.map(\.kind) == LimitKind.windowed)
    }

    @Test func pullHeaderComesFromTheAdvertisedKind() {
        #expect(EffectiveLimits(plan: "p", limits: PlanLimits([.pullsPer6h: 200])).pullLimitHeader == "200;w=21600")
        #expect(EffectiveLimits(plan: "p", limits: PlanLimits([.bytesPerDay: 200])).pullLimitHeader == nil)
    }

    @Test func statusHasAWindowPerWindowedKind() throws {
        let clock = ManualClock()
        let l = limiter([.pullsPer6h: 3, .bytesPerDay: 100, .bytesPerMonth: 1000], clock: clock)
        let s = Principal.user(UserName("w")!)
        _ = l.admit(s, pull: true)
        try l.beginTransfer(s, bytes: 40).get().finish(sent: 40)
        let status = l.status(s)
        #expect(status.windows.map(\.used) == [1, 40, 40])
        #expect(LimitKind.allCases.map { status[window: $0]?.used } == [nil, 1, 40, 40, nil])
        #expect(CivilDate.timestamp(status[window: .bytesPerMonth]!.start) == "2026-11-01T00:00:00Z")
    }

    /// Stored windows this version has no kind for are named, and don't apply; the known ones do.
    @Test func unknownStoredWindowsAreReportedNotApplied() {
        let clock = ManualClock()
        let l = limiter([.pullsPer6h: 3], clock: clock)
        let start = WindowPeriod.sixHours.start(containing: clock.wall)
        let unknown = l.restore([
            LimitWindowRecord(subject: "u:a", kind: "pulls", start: start, used: 3),
            LimitWindowRecord(subject: "u:a", kind: "pulls_day", start: start, used: 9),
            LimitWindowRecord(subject: "u:b", kind: "pulls_day", start: start, used: 9),
        ])
        #expect(unknown == ["pulls_day"])
        #expect(l.admit(.user(UserName("a")!), pull: true).failure?.kind == .pullsPer6h)
        #expect(l.status(.user(UserName("a")!)).windows.map(\.used) == [3, 0, 0])
        #expect(l.admit(.user(UserName("b")!), pull: true).succeeded)
        #expect(l.takeChangedWindows().map { "\($0.subject) \($0.kind) \($0.used)" } == ["u:b pulls 1", "u:b bytes_day 0", "u:b bytes_month 0"])
    }
}
