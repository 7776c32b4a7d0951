import Foundation

/// A user's own credentials for one upstream; the password is sealed (see `CredentialVault`).
public struct UpstreamSecretRecord: Sendable, Equatable {
    public var user: String
    public var upstream: String
    public var username: String
    public var sealedPassword: Data
    public var created: Date

    public init(user: String, upstream: String, username: String, sealedPassword: Data, created: Date) {
        self.user = user
        self.upstream = upstream
        self.username = username
        self.sealedPassword = sealedPassword
        self.created = created
    }
}

public protocol UpstreamSecretStore: Sendable {
    /// Adds or replaces; bumps the settings version so a running server reloads.
    func putUpstreamSecret(_ record: UpstreamSecretRecord) async throws
    /// Returns whether there was one; bumps the settings version.
    func deleteUpstreamSecret(user: String, upstream: String) async throws -> Bool
    /// One user's, or everyone's.
    func upstreamSecrets(user: String?) async throws -> [UpstreamSecretRecord]
}
