import Foundation
import TollgateAuth

extension Admin {
    /// Stores a user's own credentials for a configured upstream, the password sealed
    /// (`CredentialVault`); a running server uses them within a second.
    public func upstreamLogin(user: String, upstream: String, username: String, password: String) async throws {
        try await checkUpstreamLogin(user: user, upstream: upstream, username: username)
        let vault = try await CredentialVault.loadOrCreate(from: stores.keys)
        let sealed = try vault.seal(password, user: user, upstream: upstream)
        try await stores.upstreamSecrets.putUpstreamSecret(
            UpstreamSecretRecord(user: user, upstream: upstream, username: username, sealedPassword: sealed, created: Date()))
        try await audit("upstream.login", user, "\(upstream) as \(username)")
    }

    public func upstreamLogout(user: String, upstream: String) async throws {
        guard try await stores.upstreamSecrets.deleteUpstreamSecret(user: user, upstream: upstream) else {
            throw AdminError("\(user) has no credentials for \(upstream)")
        }
        try await audit("upstream.logout", user, upstream)
    }

    /// The upstreams a user has credentials for (user names only).
    public func upstreamLogins(user: String) async throws -> [UpstreamSecretRecord] {
        try await stores.upstreamSecrets.upstreamSecrets(user: user)
    }

    /// Fails unless the user exists, the upstream is configured and the user name is usable
    /// (before anyone is asked for a password).
    public func checkUpstreamLogin(user: String, upstream: String, username: String) async throws {
        try await requireUser(user)
        guard policy.upstreams.contains(upstream) else {
            throw AdminError("no upstream \(upstream) (configured: \(policy.upstreams.joined(separator: ", ")))")
        }
        guard !username.isEmpty, !username.contains(":"), username.utf8.count <= 256,
            !username.contains(where: { $0.isNewline })
        else { throw AdminError("--username: must be non-empty, at most 256 bytes, without ':' or line breaks") }
    }
}
