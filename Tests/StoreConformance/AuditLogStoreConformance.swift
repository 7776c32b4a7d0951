import Foundation
import RegistryCore
import Testing
import TollgateAdmin

/// The contract of `AuditLogStore`: entries come back as written, oldest first, filtered by time
/// and capped to the newest; they outlive a restart.
public struct AuditLogStoreConformance<Store: AuditLogStore>: ConformanceSuite {
    let engine: Engine<Store>

    public init(_ engine: Engine<Store>) { self.engine = engine }

    public var checks: [Check] {
        [
            ("entriesComeBackOldestFirst", entriesComeBackOldestFirst),
            ("sinceAndLimitSelectTheNewest", sinceAndLimitSelectTheNewest),
            ("survivesARestart", survivesARestart),
        ]
    }

    static func entry(_ i: Int, action: String = "user.set") -> AuditEntry {
        AuditEntry(
            at: Date(timeIntervalSince1970: Double(1_800_000_000 + i)), actor: i % 2 == 0 ? "cli" : "root",
            address: i % 2 == 0 ? "local" : "2001:db8::1", action: action, target: "user-\(i)",
            detail: "plan=p\(i) ‘quoted’ \"and\" <tags>")
    }

    func entriesComeBackOldestFirst() async throws {
        let m = try await engine.open().store
        #expect(try await m.auditEntries(since: .distantPast, limit: 100).isEmpty)
        let written = (0..<5).map { Self.entry($0) }
        for e in written { try await m.appendAudit(e) }
        #expect(try await m.auditEntries(since: .distantPast, limit: 100) == written)
    }

    func sinceAndLimitSelectTheNewest() async throws {
        let m = try await engine.open().store
        for i in 0..<10 { try await m.appendAudit(Self.entry(i)) }
        let since = try await m.auditEntries(since: Date(timeIntervalSince1970: 1_800_000_006), limit: 100)
        #expect(since.map(\.target) == ["user-6", "user-7", "user-8", "user-9"])
        let newest = try await m.auditEntries(since: .distantPast, limit: 3)
        #expect(newest.map(\.target) == ["user-7", "user-8", "user-9"], "the newest three, oldest first")
        #expect(try await m.auditEntries(since: .distantPast, limit: 0).isEmpty)
    }

    func survivesARestart() async throws {
        let (m, reopen) = try await engine.open()
        try await m.appendAudit(Self.entry(1, action: "user.add"))
        let again = try await reopen()
        #expect(try await again.auditEntries(since: .distantPast, limit: 10) == [Self.entry(1, action: "user.add")])
    }
}
