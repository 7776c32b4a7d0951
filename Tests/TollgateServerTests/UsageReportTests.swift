import Foundation
import RegistryCore
import Testing
import TollgateAdmin
import TollgateLimits

@testable import TollgateServer

/// The reports and texts each limit kind appears in, pinned byte for byte: they are derived from
/// the limit kinds' descriptions, and E2E checks and scripts read them.
struct UsageReportTests {
    static let now: Int64 = 1_795_611_600  // 2026-11-25T13:00:00Z
    static let clock = LimitClock(wallNanos: { now * 1_000_000_000 }, monotonic: { 5_000_000_000_000 })
    static let plan = Plan(
        name: "free",
        limits: PlanLimits([.requestsPerMinute: 60, .pullsPer6h: 3, .bytesPerDay: 1 << 30, .concurrentTransfers: 2]))

    @Test func usageEndpointJSON() throws {
        let plans = PlanBook(plans: ["free": Self.plan, "anonymous": Plan(name: "anonymous", limits: PlanLimits())], defaultPlan: "free")
        let limiter = RateLimiter(plans: plans, clock: Self.clock)
        let alice = Principal.user(UserName("alice")!)
        _ = limiter.admit(alice, pull: true)
        _ = limiter.admit(alice, pull: true)
        try limiter.beginTransfer(alice, bytes: 2298).get().finish(sent: 2298)
        let inFlight = try limiter.beginTransfer(alice, bytes: 100).get()
        var row = UsageRecord(user: "alice", day: "2026-11-25", upstream: "docker.io")
        row.requests = 12
        row.pulls = 2
        row.bytesSent = 2298
        row.upstreamBytes = 2298
        let json = UsageReport.json(
            user: "alice", subject: alice, status: limiter.status(alice), since: CivilDate(year: 2026, month: 10, day: 27),
            rows: [row], now: Self.now)
        #expect(
            json
                == #"{"current":{"bytes_per_day":{"in_flight":100,"limit":1073741824,"remaining":1073739526,"resets_at":"2026-11-26T00:00:00Z","resets_in_seconds":39600,"used":2298,"window_start":"2026-11-25T00:00:00Z"},"bytes_per_month":{"in_flight":100,"limit":null,"remaining":null,"resets_at":"2026-12-01T00:00:00Z","resets_in_seconds":471600,"used":2298,"window_start":"2026-11-01T00:00:00Z"},"concurrent_transfers":{"active":1,"limit":2},"pulls_per_6h":{"limit":3,"remaining":1,"resets_at":"2026-11-25T18:00:00Z","resets_in_seconds":18000,"used":2,"window_start":"2026-11-25T12:00:00Z"},"requests_per_minute":{"limit":60,"remaining":58}},"limits":{"bytes_per_day":1073741824,"bytes_per_month":null,"concurrent_transfers":2,"pulls_per_6h":3,"requests_per_minute":60},"plan":"free","usage":{"days":[{"bytes_sent":2298,"cache_bytes":0,"day":"2026-11-25","pulls":2,"requests":12,"upstream":"docker.io","upstream_bytes":2298}],"since":"2026-10-27","total":{"bytes_sent":2298,"cache_bytes":0,"pulls":2,"requests":12,"upstream_bytes":2298}},"user":"alice"}"#
                + "\n")
        inFlight.finish(sent: 0)

        let anonymous = Principal.anonymous(AddressGroup(address: "203.0.113.7"))
        let anon = UsageReport.json(
            user: nil, subject: anonymous, status: limiter.status(anonymous), since: CivilDate(year: 2026, month: 10, day: 27),
            rows: [], now: Self.now)
        #expect(
            anon
                == #"{"address_group":"203.0.113.7","current":{"bytes_per_day":{"in_flight":0,"limit":null,"remaining":null,"resets_at":"2026-11-26T00:00:00Z","resets_in_seconds":39600,"used":0,"window_start":"2026-11-25T00:00:00Z"},"bytes_per_month":{"in_flight":0,"limit":null,"remaining":null,"resets_at":"2026-12-01T00:00:00Z","resets_in_seconds":471600,"used":0,"window_start":"2026-11-01T00:00:00Z"},"concurrent_transfers":{"active":0,"limit":null},"pulls_per_6h":{"limit":null,"remaining":null,"resets_at":"2026-11-25T18:00:00Z","resets_in_seconds":18000,"used":0,"window_start":"2026-11-25T12:00:00Z"},"requests_per_minute":{"limit":null,"remaining":null}},"limits":{"bytes_per_day":null,"bytes_per_month":null,"concurrent_transfers":null,"pulls_per_6h":null,"requests_per_minute":null},"plan":"anonymous","user":null}"#
                + "\n")
    }

    @Test func usageCommandTableAndJSON() async throws {
        let dir = NSTemporaryDirectory() + "tollgate-report-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = try TollgateConfiguration.parse(
            yaml: """
                plans:
                  free: {requests_per_minute: 60, pulls_per_6h: 3, bytes_per_day: 1GiB, concurrent_transfers: 2}
                  anonymous: {requests_per_minute: 5}
                default_plan: free
                """)
        config.storage.path = dir
        let stores = try EmbeddedStorage.open(config, clearTemporary: true)
        var alice = UsageRecord(user: "alice", day: "2026-11-25", upstream: "docker.io")
        alice.requests = 12
        alice.pulls = 3
        alice.bytesSent = 2298
        alice.upstreamBytes = 2298
        var anon = UsageRecord(user: "", day: "2026-11-24", upstream: "docker.io")
        anon.requests = 5
        let windows = [
            LimitWindowRecord(subject: "u:alice", kind: "pulls", start: 1_795_608_000, used: 3),
            LimitWindowRecord(subject: "u:alice", kind: "bytes_day", start: 1_795_564_800, used: 2298),
            LimitWindowRecord(subject: "u:alice", kind: "bytes_month", start: 1_793_491_200, used: 2298),
            LimitWindowRecord(subject: "u:bob", kind: "pulls", start: 1_795_586_400, used: 9),  // an earlier window
        ]
        try await stores.usageLedger.addUsage([alice, anon])
        try await stores.limitWindows.saveLimitWindows(windows)
        try await stores.userSettings.putUserSettings(PlanBook.record(user: "bob", UserLimitSettings(overrides: [.bytesPerMonth: 5 << 30])))
        let lines = try await Admin.usageLines(
            policy: config.adminPolicy, stores: stores, users: ["alice", "bob"], only: nil, since: CivilDate(year: 2026, month: 10, day: 27),
            now: Self.now)
        #expect(
            UsageReport.table(lines) == """
                USER         PLAN       REQUESTS  PULLS  SENT     FROM CACHE  PULLS/6H  %     TODAY    %   MONTH    %
                (anonymous)  anonymous  5         0      0 B      -           0/∞       -     0 B      -   0 B      -
                alice        free       12        3      2.2 KiB  0%          3/3       100%  2.2 KiB  0%  2.2 KiB  -
                bob          free       0         0      0 B      -           0/3       0%    0 B      0%  0 B      0%

                """)
        #expect(
            UsageReport.json(lines, since: CivilDate(year: 2026, month: 10, day: 27))
                == #"[{"bytes_sent":0,"cache_bytes":0,"current":{"bytes_per_day":0,"bytes_per_month":0,"pulls_per_6h":0},"limits":{"bytes_per_day":null,"bytes_per_month":null,"concurrent_transfers":null,"pulls_per_6h":null,"requests_per_minute":5},"plan":"anonymous","pulls":0,"requests":5,"since":"2026-10-27","upstream_bytes":0,"user":null},{"bytes_sent":2298,"cache_bytes":0,"current":{"bytes_per_day":2298,"bytes_per_month":2298,"pulls_per_6h":3},"limits":{"bytes_per_day":1073741824,"bytes_per_month":null,"concurrent_transfers":2,"pulls_per_6h":3,"requests_per_minute":60},"plan":"free","pulls":3,"requests":12,"since":"2026-10-27","upstream_bytes":2298,"user":"alice"},{"bytes_sent":0,"cache_bytes":0,"current":{"bytes_per_day":0,"bytes_per_month":0,"pulls_per_6h":0},"limits":{"bytes_per_day":1073741824,"bytes_per_month":5368709120,"concurrent_transfers":2,"pulls_per_6h":3,"requests_per_minute":60},"plan":"free","pulls":0,"requests":0,"since":"2026-10-27","upstream_bytes":0,"user":"bob"}]"#
                + "\n")
    }

    /// Every limit key's value problems, with their key paths; unknown keys are problems too.
    @Test func planValueProblems() throws {
        do {
            _ = try TollgateConfiguration.parse(
                yaml: """
                    plans:
                      p: {requests_per_minute: 1.5, pulls_per_6h: -1, bytes_per_day: lots, bytes_per_month: 5XB, concurrent_transfers: many, pulls_per_day: 3}
                    """)
            Issue.record("accepted")
        } catch let e as ConfigurationError {
            #expect(
                e.problems.sorted() == [
                    "plans.p.bytes_per_day: not a size (examples: 500MB, 20GiB) or unlimited",
                    "plans.p.bytes_per_month: not a size (examples: 500MB, 20GiB) or unlimited",
                    "plans.p.concurrent_transfers: expected a whole number ≥ 0 or unlimited",
                    "plans.p.pulls_per_6h: expected a whole number ≥ 0 or unlimited",
                    "plans.p.pulls_per_day: unknown key",
                    "plans.p.requests_per_minute: expected a whole number ≥ 0 or unlimited",
                ])
        }
        let c = try TollgateConfiguration.parse(
            yaml: """
                plans:
                  p: {requests_per_minute: 7, pulls_per_6h: unlimited, bytes_per_day: 2KiB, bytes_per_month: 1MB, concurrent_transfers: 0}
                """)
        #expect(
            c.plans["p"]?.limits
                == PlanLimits([.requestsPerMinute: 7, .bytesPerDay: 2048, .bytesPerMonth: 1_000_000, .concurrentTransfers: 0]))
    }
}
