import RegistryCore

/// Credentials that never change on their own: the operator's username and password from the
/// configuration, or a user's own upstream login (`tollgate upstream login`).
public struct StaticCredentials: UpstreamCredentialsProvider, CustomStringConvertible {
    private let value: UpstreamCredentials
    public let fingerprint: String

    public init(_ credentials: UpstreamCredentials) {
        value = credentials
        fingerprint = String(
            Digest.sha256(of: Array("\(credentials.username)\u{0}\(credentials.password)".utf8)).hex.prefix(16))
    }

    public init(username: String, password: String) {
        self.init(UpstreamCredentials(username: username, password: password))
    }

    public func credentials(for request: UpstreamCredentialsRequest) async -> UpstreamCredentials? { value }

    public var description: String { "static credentials of \(value.username)" }
}
