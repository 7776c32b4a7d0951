import Foundation
import Testing
import TollgateAdmin
import TollgateLimits

/// The contract of `CacheEvictionStore`: orders come back in order after an id, ids only grow
/// (also across a restart), and appending moves the settings version running servers poll.
public struct CacheEvictionStoreConformance<Store: CacheEvictionStore & UserSettingsStore>: ConformanceSuite {
    let engine: Engine<Store>

    public init(_ engine: Engine<Store>) { self.engine = engine }

    public var checks: [Check] {
        [
            ("ordersComeBackInOrderAfterAnID", ordersComeBackInOrderAfterAnID),
            ("appendingMovesTheSettingsVersion", appendingMovesTheSettingsVersion),
            ("survivesARestart", survivesARestart),
            ("concurrentAppendsGetDistinctGrowingIDs", concurrentAppendsGetDistinctGrowingIDs),
        ]
    }

    func ordersComeBackInOrderAfterAnID() async throws {
        let m = try await engine.open().store
        #expect(try await m.latestEviction() == 0)
        #expect(try await m.evictions(after: 0).isEmpty)
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        let a = try await m.appendEviction(scope: "docker.io/library/alpine:3", digests: [], actor: "cli", at: at)
        let b = try await m.appendEviction(scope: "ghcr.io/a/b:1", digests: ["sha256:" + String(repeating: "a", count: 64), "sha256:" + String(repeating: "b", count: 64)], actor: "node n2", at: at.addingTimeInterval(1))
        #expect(b > a && a > 0)
        #expect(try await m.latestEviction() == b)
        #expect(
            try await m.evictions(after: 0) == [
                EvictionOrder(id: a, scope: "docker.io/library/alpine:3", actor: "cli", at: at),
                EvictionOrder(
                    id: b, scope: "ghcr.io/a/b:1", digests: ["sha256:" + String(repeating: "a", count: 64), "sha256:" + String(repeating: "b", count: 64)],
                    actor: "node n2", at: at.addingTimeInterval(1)),
            ])
        #expect(try await m.evictions(after: a).map(\.scope) == ["ghcr.io/a/b:1"])
        #expect(try await m.evictions(after: b).isEmpty)
    }

    func appendingMovesTheSettingsVersion() async throws {
        let m = try await engine.open().store
        let before = try await m.settingsVersion()
        _ = try await m.appendEviction(scope: "docker.io", digests: [], actor: "cli", at: Date())
        #expect(try await m.settingsVersion() > before)
    }

    func survivesARestart() async throws {
        let (m, reopen) = try await engine.open()
        let a = try await m.appendEviction(scope: "docker.io/x/y", digests: [], actor: "cli", at: Date(timeIntervalSince1970: 5))
        let again = try await reopen()
        #expect(try await again.evictions(after: 0).map(\.id) == [a])
        let b = try await again.appendEviction(scope: "docker.io", digests: [], actor: "cli", at: Date(timeIntervalSince1970: 6))
        #expect(b > a)
    }

    func concurrentAppendsGetDistinctGrowingIDs() async throws {
        let m = try await engine.open().store
        try await concurrently(each: 20) { task, i in
            _ = try await m.appendEviction(scope: "docker.io/t\(task)/r\(i)", digests: [], actor: "cli", at: Date())
        }
        let ids = try await m.evictions(after: 0).map(\.id)
        #expect(ids.count == 40)
        #expect(ids == ids.sorted() && Set(ids).count == 40)
    }
}
