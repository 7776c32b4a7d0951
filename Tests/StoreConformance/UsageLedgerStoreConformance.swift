import Testing
import TollgateLimits

/// The contract of `UsageLedgerStore`, for every adapter.
public struct UsageLedgerStoreConformance<Store: UsageLedgerStore>: ConformanceSuite {
    let engine: Engine<Store>

    public init(_ engine: Engine<Store>) { self.engine = engine }

    public var checks: [Check] {
        [
            ("batchesAddUpPerUserDayAndUpstream", batchesAddUpPerUserDayAndUpstream),
            ("readFromADayOnInOrder", readFromADayOnInOrder),
            ("totalsPerUserFromADay", totalsPerUserFromADay),
            ("survivesARestart", survivesARestart),
            ("twoConcurrentWriters", twoConcurrentWriters),
        ]
    }

    func batchesAddUpPerUserDayAndUpstream() async throws {
        let m = try await engine.open().store
        #expect(try await m.usage(since: "2000-01-01", user: nil).isEmpty)
        try await m.addUsage([])
        let r = usage("a", "2026-11-25", "docker.io", requests: 2, pulls: 1, bytesSent: 10, hitBytes: 6, upstreamBytes: 4)
        try await m.addUsage([r, r])
        try await m.addUsage([r])
        #expect(
            try await m.usage(since: "2026-11-01", user: "a")
                == [usage("a", "2026-11-25", "docker.io", requests: 6, pulls: 3, bytesSent: 30, hitBytes: 18, upstreamBytes: 12)])
        #expect(try await m.usage(since: "2026-11-26", user: nil).isEmpty)
        #expect(try await m.usage(since: "2026-11-01", user: "b").isEmpty)
    }

    func readFromADayOnInOrder() async throws {
        let m = try await engine.open().store
        try await m.addUsage([
            usage("b", "2026-11-02", "docker.io", requests: 1), usage("", "2026-11-03", "-", requests: 1),
            usage("a", "2026-11-03", "ghcr.io", requests: 1), usage("a", "2026-11-03", "docker.io", requests: 1),
            usage("a", "2026-11-01", "docker.io", requests: 1),
        ])
        let key = { (r: UsageRecord) in "\(r.user) \(r.day) \(r.upstream)" }
        // From the day on (inclusive), ordered by user, day, upstream; anonymous use under "".
        #expect(
            try await m.usage(since: "2026-11-02", user: nil).map(key)
                == [" 2026-11-03 -", "a 2026-11-03 docker.io", "a 2026-11-03 ghcr.io", "b 2026-11-02 docker.io"])
        #expect(
            try await m.usage(since: "2026-11-01", user: "a").map(key)
                == ["a 2026-11-01 docker.io", "a 2026-11-03 docker.io", "a 2026-11-03 ghcr.io"])
    }

    func totalsPerUserFromADay() async throws {
        let m = try await engine.open().store
        #expect(try await m.usageTotals(since: "2026-11-01", today: "2026-11-05").isEmpty)
        try await m.addUsage([
            usage("b", "2026-11-05", "docker.io", requests: 3, pulls: 2, bytesSent: 100),
            usage("b", "2026-11-05", "ghcr.io", requests: 1, pulls: 1, bytesSent: 5),
            usage("b", "2026-11-03", "docker.io", requests: 4, pulls: 4, bytesSent: 10),
            usage("a", "2026-11-02", "docker.io", requests: 1, pulls: 1, bytesSent: 7),
            usage("a", "2026-11-04", "docker.io", requests: 0, pulls: 0, bytesSent: 1),  // bytes only: not "seen"
            usage("c", "2026-10-31", "docker.io", requests: 9, pulls: 9, bytesSent: 9),  // before the span
        ])
        #expect(
            try await m.usageTotals(since: "2026-11-01", today: "2026-11-05") == [
                UsageTotals(user: "a", pullsToday: 0, bytesSent: 8, lastSeen: "2026-11-02"),
                UsageTotals(user: "b", pullsToday: 3, bytesSent: 115, lastSeen: "2026-11-05"),
            ])
    }

    func survivesARestart() async throws {
        let (m, reopen) = try await engine.open()
        let r = usage("a", "2026-11-25", "docker.io", requests: 1, pulls: 2, bytesSent: 3, hitBytes: 4, upstreamBytes: 5)
        try await m.addUsage([r])
        let again = try await reopen()
        #expect(try await again.usage(since: "2026-11-25", user: "a") == [r])
        try await again.addUsage([r])
        #expect(try await again.usage(since: "2026-11-25", user: "a").first?.upstreamBytes == 10)
    }

    func twoConcurrentWriters() async throws {
        let m = try await engine.open().store
        try await concurrently { task, i in
            try await m.addUsage([
                usage("a", "2026-11-25", "docker.io", requests: 1, pulls: 2, bytesSent: Int64(i), hitBytes: 1, upstreamBytes: 0),
                usage("u\(task)", "2026-11-25", "docker.io", requests: 1),
            ])
        }
        let rows = try await m.usage(since: "2026-11-25", user: nil)
        #expect(
            rows == [
                usage("a", "2026-11-25", "docker.io", requests: 100, pulls: 200, bytesSent: 2 * 1225, hitBytes: 100),
                usage("u0", "2026-11-25", "docker.io", requests: 50), usage("u1", "2026-11-25", "docker.io", requests: 50),
            ])
    }
}

func usage(
    _ user: String, _ day: String, _ upstream: String, requests: Int64 = 0, pulls: Int64 = 0, bytesSent: Int64 = 0,
    hitBytes: Int64 = 0, upstreamBytes: Int64 = 0
) -> UsageRecord {
    var r = UsageRecord(user: user, day: day, upstream: upstream)
    r.requests = requests
    r.pulls = pulls
    r.bytesSent = bytesSent
    r.hitBytes = hitBytes
    r.upstreamBytes = upstreamBytes
    return r
}
