import Foundation
import PostgresNIO
import TollgateAdmin

extension PostgresStore: AuditLogStore {
    public func appendAudit(_ e: AuditEntry) async throws {
        try await client.query(
            """
            INSERT INTO audit_log (at, actor, address, action, target, detail)
            VALUES (\(e.at.timeIntervalSince1970), \(e.actor), \(e.address), \(e.action), \(e.target), \(e.detail))
            """, logger: logger)
    }

    public func auditEntries(since: Date, limit: Int) async throws -> [AuditEntry] {
        var result: [AuditEntry] = []
        for try await (at, actor, address, action, target, detail) in try await client.query(
            """
            SELECT at, actor, address, action, target, detail FROM (
                SELECT id, at, actor, address, action, target, detail FROM audit_log WHERE at >= \(since.timeIntervalSince1970)
                ORDER BY id DESC LIMIT \(max(0, limit))) newest ORDER BY id
            """, logger: logger
        ).decode((Double, String, String, String, String, String).self) {
            result.append(
                AuditEntry(
                    at: Date(timeIntervalSince1970: at), actor: actor, address: address, action: action, target: target,
                    detail: detail))
        }
        return result
    }
}
