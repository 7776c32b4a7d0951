import Foundation
import TollgateAdmin

extension InMemoryDatabase: AuditLogStore {
    public func appendAudit(_ entry: AuditEntry) async throws {
        try locked { $0.audit.append(entry) }
    }

    public func auditEntries(since: Date, limit: Int) async throws -> [AuditEntry] {
        try locked { state in Array(state.audit.filter { $0.at >= since }.suffix(max(0, limit))) }
    }
}
