import Foundation

/// A long-lived secret issued to a user: a personal access token, or the refresh token
/// (`identitytoken`) `docker login` keeps. Only a hash of the secret is stored.
public struct CredentialRecord: Sendable, Equatable {
    public enum Kind: String, Sendable { case personal, refresh }

    public var id: String
    public var user: String
    public var kind: Kind
    public var label: String
    /// Hex SHA-256 of the secret.
    public var secretHash: String
    public var created: Date
    public var expires: Date?
    /// Refresh tokens: the personal token they were obtained with (nil: a password login).
    /// Revoking that token ends them.
    public var origin: String?
    /// Refresh tokens: the `client_id` the client gave (validated, short).
    public var client: String?
    /// Refresh tokens: the last refresh grant.
    public var lastUsed: Date?

    public init(
        id: String, user: String, kind: Kind, label: String, secretHash: String, created: Date, expires: Date?,
        origin: String? = nil, client: String? = nil, lastUsed: Date? = nil
    ) {
        self.id = id
        self.user = user
        self.kind = kind
        self.label = label
        self.secretHash = secretHash
        self.created = created
        self.expires = expires
        self.origin = origin
        self.client = client
        self.lastUsed = lastUsed
    }
}

public protocol CredentialStore: Sendable {
    /// With `keepNewest`: afterwards the user has at most that many live credentials of the
    /// record's kind (expired ones go first, then the oldest).
    func insertCredential(_ record: CredentialRecord, keepNewest: Int?) async throws
    func credential(id: String) async throws -> CredentialRecord?
    func credentials(user: String, kind: CredentialRecord.Kind) async throws -> [CredentialRecord]
    /// Deletes the credential and the refresh tokens obtained with it; returns whether it existed.
    func deleteCredential(id: String) async throws -> Bool
    /// Records a refresh grant's time.
    func touchCredential(id: String, at: Date) async throws
    /// Deletes a user's credentials of `kind` (all kinds when nil); returns how many.
    func deleteCredentials(user: String, kind: CredentialRecord.Kind?) async throws -> Int
}

/// A user's own credentials for one upstream; the password is sealed (see `CredentialVault`).
public struct UpstreamCredentialRecord: Sendable, Equatable {
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

public protocol UpstreamCredentialStore: Sendable {
    /// Adds or replaces; bumps the settings version so a running server reloads.
    func putUpstreamCredential(_ record: UpstreamCredentialRecord) async throws
    /// Returns whether there was one; bumps the settings version.
    func deleteUpstreamCredential(user: String, upstream: String) async throws -> Bool
    /// One user's, or everyone's.
    func upstreamCredentials(user: String?) async throws -> [UpstreamCredentialRecord]
}
