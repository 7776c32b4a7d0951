/// The keys auth keeps: the token server's signing key and its certificate, and the key that
/// seals users' upstream secrets.
public enum KeyName: String, Sendable, CaseIterable {
    case tokenSigningKey = "token.key"
    case tokenCertificate = "token.crt"
    case upstreamSecretsKey = "upstream-credentials.key"

    /// Whether it must be kept from everyone but the server (the certificate is public).
    public var isSecret: Bool { self != .tokenCertificate }
}

/// The key store (auth). A key, once stored, is never replaced by this port: several processes
/// starting at once agree on whichever was stored first.
public protocol KeyStore: Sendable {
    /// Where the keys live, for messages.
    var location: String { get }
    /// The stored text of `name`, or nil when there is none (or it is still being stored).
    func key(_ name: KeyName) async throws -> String?
    /// Stores `text` under `name` unless a key is stored there already; returns the stored text
    /// (`text`, or what another process stored first).
    func storeIfAbsent(_ name: KeyName, _ text: String) async throws -> String
    /// Stores `text` under `name`, replacing what is there: only for what is derived from
    /// another key (the certificate of a signing key just stored).
    func replace(_ name: KeyName, _ text: String) async throws
}
