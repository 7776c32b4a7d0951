import Testing
import TollgateLimits

/// The contract of `LimitWindowStore`, for every adapter (in no promised order: compared sorted).
public struct LimitWindowStoreConformance<Store: LimitWindowStore>: ConformanceSuite {
    let engine: Engine<Store>

    public init(_ engine: Engine<Store>) { self.engine = engine }

    public var checks: [Check] {
        [
            ("saveReplacesPerSubjectAndKind", saveReplacesPerSubjectAndKind),
            ("sinceAndPruneByStart", sinceAndPruneByStart),
            ("survivesARestart", survivesARestart),
            ("twoConcurrentWriters", twoConcurrentWriters),
        ]
    }

    func saveReplacesPerSubjectAndKind() async throws {
        let m = try await engine.open().store
        #expect(try await m.limitWindows(since: 0).isEmpty)
        try await m.saveLimitWindows([])
        try await m.saveLimitWindows([LimitWindowRecord(subject: "u:a", kind: "pulls", start: 10, used: 3)])
        try await m.saveLimitWindows([LimitWindowRecord(subject: "u:a", kind: "pulls", start: 10, used: 4)])
        #expect(try await m.limitWindows(since: 0).map(\.used) == [4])
        // A new window of the same kind replaces the old one.
        try await m.saveLimitWindows([
            LimitWindowRecord(subject: "u:a", kind: "pulls", start: 20, used: 1),
            LimitWindowRecord(subject: "u:a", kind: "bytes_day", start: 0, used: 9),
            LimitWindowRecord(subject: "ip:10.0.0.0", kind: "pulls", start: 20, used: 2),
        ])
        #expect(
            try await sorted(m.limitWindows(since: 0)) == [
                LimitWindowRecord(subject: "ip:10.0.0.0", kind: "pulls", start: 20, used: 2),
                LimitWindowRecord(subject: "u:a", kind: "bytes_day", start: 0, used: 9),
                LimitWindowRecord(subject: "u:a", kind: "pulls", start: 20, used: 1),
            ])
    }

    func sinceAndPruneByStart() async throws {
        let m = try await engine.open().store
        try await m.saveLimitWindows((1...4).map { LimitWindowRecord(subject: "u:\($0)", kind: "pulls", start: Int64($0 * 10), used: 1) })
        // Began at or after `since`; pruned when begun before.
        #expect(try await sorted(m.limitWindows(since: 20)).map(\.start) == [20, 30, 40])
        try await m.pruneLimitWindows(before: 30)
        #expect(try await sorted(m.limitWindows(since: 0)).map(\.start) == [30, 40])
        try await m.pruneLimitWindows(before: 0)
        #expect(try await m.limitWindows(since: 0).count == 2)
    }

    func survivesARestart() async throws {
        let (m, reopen) = try await engine.open()
        let w = LimitWindowRecord(subject: "u:a", kind: "bytes_month", start: 1_700_000_000, used: 1 << 40)
        try await m.saveLimitWindows([w])
        #expect(try await reopen().limitWindows(since: 0) == [w])
    }

    func twoConcurrentWriters() async throws {
        let m = try await engine.open().store
        try await concurrently { task, i in
            try await m.saveLimitWindows([
                LimitWindowRecord(subject: "u:\(task)-\(i)", kind: "pulls", start: 1, used: Int64(i)),
                LimitWindowRecord(subject: "u:both", kind: "pulls", start: 1, used: Int64(task)),
            ])
        }
        let all = try await m.limitWindows(since: 0)
        #expect(all.count == 101)
        #expect(Set(all.map(\.subject)).count == 101)
    }

    private func sorted(_ windows: [LimitWindowRecord]) -> [LimitWindowRecord] {
        windows.sorted { ($0.subject, $0.kind) < ($1.subject, $1.kind) }
    }
}
