import Foundation

/// Where an identity's upstream credentials come from: one type per way of obtaining them.
/// `StaticCredentials` (a configured username and password, or a user's own upstream login) is the
/// first; a docker credential helper or a cloud registry's short-lived token would be others.
///
/// `UpstreamAuthenticator` asks the provider whenever credentials are about to be sent (Basic to
/// the upstream's own origin, or a token request to the realm the upstream announced and the
/// client pinned) and sends the answer there and nowhere else.
public protocol UpstreamCredentialsProvider: Sendable {
    /// The same for the same credentials, different once they may differ; never the secret. Part of
    /// `UpstreamIdentity.key`, so tokens fetched with other credentials are never reused.
    var fingerprint: String { get }

    /// The credentials for `request`, or nil to go without. A failure should be an `UpstreamError`
    /// (`.credentialsRejected`, `.unreachable`): other errors reach the client as a 500.
    func credentials(for request: UpstreamCredentialsRequest) async throws -> UpstreamCredentials?
}

/// What a provider is asked for: credentials for this upstream and scope, to be sent to `recipient`.
public struct UpstreamCredentialsRequest: Sendable, Equatable {
    public enum Recipient: Sendable, Equatable {
        /// The upstream's own origin (`https://registry.example:443`), as Basic credentials.
        case origin(String)
        /// The token realm (a URL) the upstream announced, asked for a Bearer token.
        case tokenRealm(String)
    }

    /// The upstream's configured name (`docker.io`).
    public let upstream: String
    /// The scope the request needs (`repository:library/alpine:pull`).
    public let scope: String
    public let recipient: Recipient
}

/// A username and password for an upstream registry: sent as Basic to its origin, or to its token
/// realm (with `account=<username>`) to get a Bearer token.
public struct UpstreamCredentials: Sendable, Hashable, CustomStringConvertible {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// The `Authorization` header value.
    var basicAuthorization: String { "Basic " + Data("\(username):\(password)".utf8).base64EncodedString() }

    /// For messages: never the password.
    public var description: String { "\(username) (password hidden)" }
}
