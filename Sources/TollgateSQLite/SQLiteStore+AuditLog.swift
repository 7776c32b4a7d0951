import Foundation
import GRDB
import TollgateAdmin

extension SQLiteStore: AuditLogStore {
    public func appendAudit(_ e: AuditEntry) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO audit_log (at, actor, address, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [e.at.timeIntervalSince1970, e.actor, e.address, e.action, e.target, e.detail])
        }
    }

    public func auditEntries(since: Date, limit: Int) async throws -> [AuditEntry] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM (SELECT id, at, actor, address, action, target, detail FROM audit_log
                        WHERE at >= ? ORDER BY id DESC LIMIT ?) ORDER BY id
                    """,
                arguments: [since.timeIntervalSince1970, max(0, limit)]
            ).map { row in
                AuditEntry(
                    at: Date(timeIntervalSince1970: row["at"]), actor: row["actor"], address: row["address"],
                    action: row["action"], target: row["target"], detail: row["detail"])
            }
        }
    }
}
