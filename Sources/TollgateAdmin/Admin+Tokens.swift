import Foundation
import TollgateAuth

extension Admin {
    /// Creates a personal access token; the secret is returned once and never stored.
    public func createToken(user: String, label: String, lifetime: Duration?) async throws
        -> (record: SecretTokenRecord, secret: String)
    {
        try await requireUser(user)
        guard label.utf8.count <= 200, !label.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f })
        else { throw AdminError("--label: at most 200 bytes, no control characters") }
        if let lifetime, lifetime <= .zero { throw AdminError("--expires: not a duration (examples: 30d, 12h)") }
        let until = lifetime.map { Date().addingTimeInterval(Double($0.components.seconds)) }
        let made = try await SecretTokens(store: stores.secretTokens).create(
            user: user, kind: .personal, label: label, expires: until)
        try await audit(
            "token.create", user, "id \(made.record.id) label \(label) expires \(until.map { "\($0)" } ?? "never")")
        return made
    }

    /// A user's personal tokens, then their live logins (refresh tokens); never secrets.
    public func listTokens(user: String, now: Date = Date()) async throws
        -> (tokens: [SecretTokenRecord], logins: [SecretTokenRecord])
    {
        let tokens = try await stores.secretTokens.secretTokens(user: user, kind: .personal)
        let logins = try await stores.secretTokens.secretTokens(user: user, kind: .refresh).filter {
            $0.expires.map { $0 >= now } ?? true
        }
        return (tokens, logins)
    }

    /// Revokes a personal token (and the logins obtained with it) or a login.
    public func revokeToken(id: String) async throws {
        let record = id.utf8.count <= 64 ? try await stores.secretTokens.secretToken(id: id) : nil
        guard let record, try await stores.secretTokens.deleteSecretToken(id: id) else {
            throw AdminError("no token \(id.prefix(64))")
        }
        try await audit("token.revoke", record.user, "id \(id) (\(record.kind.rawValue) \(record.label))")
    }
}
