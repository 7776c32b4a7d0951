import RegistryCore

/// How to reach one upstream registry.
public struct UpstreamConfiguration: Sendable, Equatable {
    /// The registry's public name (`docker.io`, `ghcr.io`): the configuration key.
    public var name: String
    /// Base URL without a trailing slash, e.g. `https://registry-1.docker.io`.
    public var url: String
    public var credentials: Credentials?
    /// Seconds to establish a connection.
    public var connectTimeout: Double
    /// Seconds until the response head arrives.
    public var firstByteTimeout: Double
    /// Seconds a response body may stall between two reads.
    public var idleTimeout: Double

    public struct Credentials: Sendable, Hashable {
        public var username: String
        public var password: String
        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }

    public init(
        name: String, url: String, credentials: Credentials? = nil,
        connectTimeout: Double = 10, firstByteTimeout: Double = 30, idleTimeout: Double = 30
    ) {
        self.name = name
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.credentials = credentials
        self.connectTimeout = connectTimeout
        self.firstByteTimeout = firstByteTimeout
        self.idleTimeout = idleTimeout
    }
}

/// Whose credentials an upstream request carries: the operator's shared ones (or none), or one
/// user's own. Upstream tokens are cached per identity and never shared across identities.
public struct UpstreamIdentity: Sendable, Hashable, CustomStringConvertible {
    /// `shared`, or `user:<name>`; plus a fingerprint of the credentials, so changed credentials
    /// never reuse tokens fetched with the old ones.
    public let key: String
    public let owner: String?
    public let credentials: UpstreamConfiguration.Credentials?

    public static func shared(_ credentials: UpstreamConfiguration.Credentials?) -> UpstreamIdentity {
        UpstreamIdentity(key: "shared#" + fingerprint(credentials), owner: nil, credentials: credentials)
    }

    public static func user(_ name: String, _ credentials: UpstreamConfiguration.Credentials) -> UpstreamIdentity {
        UpstreamIdentity(key: "user:\(name)#" + fingerprint(credentials), owner: name, credentials: credentials)
    }

    public var isShared: Bool { owner == nil }

    /// For messages: never the secret.
    public var description: String {
        if let owner { return "\(owner)'s own credentials" }
        return credentials == nil ? "no credentials" : "the mirror's credentials"
    }

    private static func fingerprint(_ c: UpstreamConfiguration.Credentials?) -> String {
        guard let c else { return "-" }
        return String(Digest.sha256(of: Array("\(c.username)\u{0}\(c.password)".utf8)).hex.prefix(16))
    }
}
