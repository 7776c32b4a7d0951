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

    public struct Credentials: Sendable, Equatable {
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
