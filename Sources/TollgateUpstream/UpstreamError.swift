/// Why a request to an upstream failed, before any registry-level status was known.
public struct UpstreamError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Connection refused, reset, DNS failure, TLS failure.
        case unreachable
        /// No response head within the first-byte timeout, or the body stalled.
        case timeout
        /// The upstream answered something unusable (bad redirect, token endpoint failure).
        case protocolError
        /// The upstream (or its token server) refused the credentials sent.
        case credentialsRejected
    }
    public var kind: Kind
    public var upstream: String
    public var message: String

    public init(_ kind: Kind, upstream: String, _ message: String) {
        self.kind = kind
        self.upstream = upstream
        self.message = message
    }

    public var description: String { "upstream \(upstream): \(message)" }
}
