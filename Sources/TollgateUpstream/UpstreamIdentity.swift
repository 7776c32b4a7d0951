import RegistryCore

/// Whose credentials an upstream request carries: the operator's shared ones (or none), or one
/// user's own. Upstream tokens are cached per identity and never shared across identities.
public struct UpstreamIdentity: Sendable, Hashable, CustomStringConvertible {
    /// `shared`, or `user:<name>`; plus the credentials' fingerprint, so changed credentials
    /// never reuse tokens fetched with the old ones.
    public let key: String
    public let owner: UserName?
    /// Where the credentials come from; nil: none (anonymous).
    public let credentials: (any UpstreamCredentialsProvider)?

    public static func shared(_ credentials: (any UpstreamCredentialsProvider)?) -> UpstreamIdentity {
        UpstreamIdentity(key: Audience.shared.key + "#" + fingerprint(credentials), owner: nil, credentials: credentials)
    }

    public static func user(_ name: UserName, _ credentials: any UpstreamCredentialsProvider) -> UpstreamIdentity {
        UpstreamIdentity(key: Audience.user(name).key + "#" + fingerprint(credentials), owner: name, credentials: credentials)
    }

    public var isShared: Bool { owner == nil }

    /// For messages: never the secret.
    public var description: String {
        if let owner { return "\(owner)'s own credentials" }
        return credentials == nil ? "no credentials" : "the mirror's credentials"
    }

    private static func fingerprint(_ c: (any UpstreamCredentialsProvider)?) -> String { c?.fingerprint ?? "-" }

    // The key names the owner and the credentials' fingerprint: it is the identity.
    public static func == (a: UpstreamIdentity, b: UpstreamIdentity) -> Bool { a.key == b.key }
    public func hash(into hasher: inout Hasher) { hasher.combine(key) }
}
