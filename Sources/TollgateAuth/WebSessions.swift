import Crypto
import Foundation

/// Web console sessions: a `tgs_…` secret in the browser's cookie, stored as a secret token of
/// kind `.session` (only its hash). A session ends at logout, after `idle` without a request,
/// `absolute` after login, and at once when its user is disabled or deleted, changes password,
/// or (logged in with a personal token) that token is revoked.
public struct WebSessions: Sendable {
    public static let idle: TimeInterval = 12 * 3600
    public static let absolute: TimeInterval = 7 * 24 * 3600
    /// A session's last request is written at most this often (a page view is not a write).
    static let touchEvery: TimeInterval = 60
    /// Live sessions a user may have; a new login ends the oldest beyond it.
    static let perUser = 20

    let secrets: SecretTokens
    let isActive: @Sendable (String) async -> Bool

    /// `isActive`: whether a user exists and may log in now.
    public init(secrets: SecretTokens, isActive: @escaping @Sendable (String) async -> Bool) {
        self.secrets = secrets
        self.isActive = isActive
    }

    /// A new session for `user`; the secret goes into the cookie and nowhere else.
    /// `viaToken`: the id of the personal token the user logged in with.
    public func start(user: String, viaToken: String?, client: String?, now: Date = Date()) async throws -> String {
        try await secrets.create(
            user: user, kind: .session, label: "console", expires: now.addingTimeInterval(Self.absolute),
            origin: viaToken, client: client.map { String($0.prefix(64)) }, keepNewest: Self.perUser, now: now
        ).secret
    }

    /// The live session a cookie holds; nil when it is not one (any more).
    public func current(_ secret: String, now: Date = Date()) async throws -> SecretTokenRecord? {
        guard let record = try await secrets.verify(secret, kind: .session, now: now) else { return nil }
        let last = record.lastUsed ?? record.created
        guard now.timeIntervalSince(last) <= Self.idle, await isActive(record.user) else { return nil }
        if now.timeIntervalSince(last) >= Self.touchEvery { try await secrets.recordUse(record, now: now) }
        return record
    }

    /// Ends the session a cookie holds (logout).
    public func end(_ record: SecretTokenRecord) async throws {
        _ = try await secrets.store.deleteSecretToken(id: record.id)
    }

    /// The token a session's forms carry: derived from the session's secret, which only the
    /// browser's cookie and this server see, so another site can neither read nor make it.
    public static func formToken(for secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array("tollgate console form".utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return Data(mac).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Whether a form's token is the session's.
    public static func formTokenMatches(_ presented: String?, secret: String) -> Bool {
        guard let presented, presented.utf8.count < 100 else { return false }
        return constantTimeEqual(Array(presented.utf8), Array(formToken(for: secret).utf8))
    }
}
