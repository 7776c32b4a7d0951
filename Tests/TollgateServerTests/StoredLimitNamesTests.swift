import Foundation
import Logging
import Synchronization
import RegistryCore
import Testing
import TollgateSQLite
import TollgateLimits

/// Stored limit names no limit kind of this version has are said, not silently dropped.
struct StoredLimitNamesTests {
    /// Keeps what is logged.
    final class Captured: Sendable {
        let lines = Mutex<[String]>([])

        var logger: Logger {
            Logger(label: "t") { _ in Handler(captured: self) }
        }

        struct Handler: LogHandler {
            let captured: Captured
            var metadata: Logger.Metadata = [:]
            var logLevel: Logger.Level = .trace
            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }
            func log(event: LogEvent) {
                let data = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                captured.lines.withLock { $0.append("\(event.level) \(event.message) \(data.joined(separator: " "))") }
            }
        }
    }

    @Test func anUnknownStoredWindowIsLoggedAtLoadAndDoesNotApply() async throws {
        let dir = NSTemporaryDirectory() + "tollgate-names-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(path: dir + "/t.sqlite")
        let now: Int64 = 1_795_611_600  // 2026-11-25T13:00:00Z, in the 12:00 pull window
        try await store.saveLimitWindows(
            [
                LimitWindowRecord(subject: "u:a", kind: "pulls", start: 1_795_608_000, used: 2),
                LimitWindowRecord(subject: "u:a", kind: "pulls_week", start: 1_795_478_400, used: 50),
            ])
        let clock = LimitClock(wallNanos: { now * 1_000_000_000 }, monotonic: { 1_000_000_000 })
        let limiter = RateLimiter(
            plans: PlanBook(plans: ["p": Plan(name: "p", limits: PlanLimits([.pullsPer6h: 3]))], defaultPlan: "p"),
            clock: clock)
        let captured = Captured()
        try await LimitsService.load(limiter: limiter, store: store, logger: captured.logger)
        #expect(
            captured.lines.withLock { $0 } == [
                "error stored limit window names no limit of this version; it does not apply window=pulls_week"
            ])
        #expect(limiter.status(.user(UserName("a")!)).windows.map(\.used) == [2, 0, 0])
    }
}
