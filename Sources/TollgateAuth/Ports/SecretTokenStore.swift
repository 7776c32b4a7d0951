import Foundation

/// A long-lived secret issued to a user: a personal access token, the refresh token
/// (`identitytoken`) `docker login` keeps, or a web console session. Only a hash of the secret
/// is stored.
public struct SecretTokenRecord: Sendable, Equatable {
    public enum Kind: String, Sendable { case personal, refresh, session }

    public var id: String
    public var user: String
    public var kind: Kind
    public var label: String
    /// Hex SHA-256 of the secret.
    public var secretHash: String
    public var created: Date
    public var expires: Date?
    /// Refresh tokens and sessions: the personal token they were obtained with (nil: a password
    /// login). Revoking that token ends them.
    public var origin: String?
    /// Refresh tokens: the `client_id` the client gave (validated, short).
    public var client: String?
    /// Refresh tokens: the last refresh grant; sessions: the last request (to the minute).
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

public protocol SecretTokenStore: Sendable {
    /// With `keepNewest`: afterwards the user has at most that many live credentials of the
    /// record's kind (expired ones go first, then the oldest).
    func insertSecretToken(_ record: SecretTokenRecord, keepNewest: Int?) async throws
    func secretToken(id: String) async throws -> SecretTokenRecord?
    func secretTokens(user: String, kind: SecretTokenRecord.Kind) async throws -> [SecretTokenRecord]
    /// Deletes the credential and the refresh tokens obtained with it; returns whether it existed.
    func deleteSecretToken(id: String) async throws -> Bool
    /// Records a refresh grant's time.
    func touchSecretToken(id: String, at: Date) async throws
    /// Deletes a user's credentials of `kind` (all kinds when nil); returns how many.
    func deleteSecretTokens(user: String, kind: SecretTokenRecord.Kind?) async throws -> Int
}
