import RegistryCore

/// How to reach one upstream registry.
public struct UpstreamConfiguration: Sendable {
    /// The registry's public name (`docker.io`, `ghcr.io`): the configuration key.
    public var name: UpstreamName
    /// Base URL without a trailing slash, e.g. `https://registry-1.docker.io`.
    public var url: String
    /// The operator's credentials for this upstream (the shared identity's); nil: anonymous.
    public var credentials: (any UpstreamCredentialsProvider)?
    /// Seconds to establish a connection.
    public var connectTimeout: Double
    /// Seconds until the response head arrives.
    public var firstByteTimeout: Double
    /// Seconds a response body may stall between two reads.
    public var idleTimeout: Double

    public init(
        name: UpstreamName, url: String, credentials: (any UpstreamCredentialsProvider)? = nil,
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
