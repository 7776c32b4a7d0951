import Foundation

/// A user's own credentials for one upstream; the password is sealed (see `CredentialVault`).
public struct UpstreamSecretRecord: Sendable, Equatable {
    public var user: String
    public var upstream: String
    public var username: String
    public var sealedPassword: Data
    public var created: Date
    /// Whether the upstream accepted them the last time a pull used them, and when; nil: not used
    /// since they were stored.
    public var lastResult: LoginResult?

    public struct LoginResult: Sendable, Equatable {
        public var accepted: Bool
        public var at: Date
        public init(accepted: Bool, at: Date) {
            self.accepted = accepted
            self.at = at
        }
    }

    public init(
        user: String, upstream: String, username: String, sealedPassword: Data, created: Date, lastResult: LoginResult? = nil
    ) {
        self.user = user
        self.upstream = upstream
        self.username = username
        self.sealedPassword = sealedPassword
        self.created = created
        self.lastResult = lastResult
    }
}

public protocol UpstreamSecretStore: Sendable {
    /// Adds or replaces (the last result goes: new credentials are untried); bumps the settings
    /// version so a running server reloads.
    func putUpstreamSecret(_ record: UpstreamSecretRecord) async throws
    /// Notes whether the upstream accepted a user's stored credentials at a pull; nothing when
    /// there are none. Not a settings change: no version bump.
    func noteUpstreamSecretResult(user: String, upstream: String, _ result: UpstreamSecretRecord.LoginResult) async throws
    /// Returns whether there was one; bumps the settings version.
    func deleteUpstreamSecret(user: String, upstream: String) async throws -> Bool
    /// One user's, or everyone's.
    func upstreamSecrets(user: String?) async throws -> [UpstreamSecretRecord]
}
