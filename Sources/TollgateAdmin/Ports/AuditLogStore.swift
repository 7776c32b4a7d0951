import Foundation

/// One change an admin or a user made through the admin layer (CLI or console): who, from where,
/// what, to whom, when. Never a secret: a token's id and label, not its value; an upstream's user
/// name, not the password.
public struct AuditEntry: Sendable, Equatable {
    public var at: Date
    /// The user who acted, or `cli` (the shell on the server).
    public var actor: String
    /// The client address (console), or `local` (CLI).
    public var address: String
    /// `user.add`, `user.set`, `token.create`, … (see README, Audit log).
    public var action: String
    /// The user the change concerns.
    public var target: String
    public var detail: String

    public init(at: Date, actor: String, address: String, action: String, target: String, detail: String = "") {
        self.at = at
        self.actor = actor
        self.address = address
        self.action = action
        self.target = target
        self.detail = detail
    }
}

/// The audit log, append-only: adapters add and read entries, nothing changes or removes one
/// (where the engine can, it refuses to: SQLite and PostgreSQL triggers), and a user's removal
/// keeps theirs.
public protocol AuditLogStore: Sendable {
    func appendAudit(_ entry: AuditEntry) async throws
    /// Entries at or after `since`, oldest first; when more than `limit`, the newest `limit`.
    func auditEntries(since: Date, limit: Int) async throws -> [AuditEntry]
}
