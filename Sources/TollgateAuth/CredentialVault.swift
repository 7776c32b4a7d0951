import Crypto
import Foundation

/// Encrypts users' own upstream passwords at rest: AES-256-GCM with a key kept in the `KeyStore`
/// (`key_dir`: `upstream-credentials.key`, base64, mode 0600), generated at first use. Each ciphertext is bound
/// to its user and upstream (as authenticated data), so a row copied to another user or upstream
/// does not decrypt.
public struct CredentialVault: Sendable {
    private let key: SymmetricKey

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public init(key: SymmetricKey) { self.key = key }

    /// Loads the key from `store`, generating it when absent (another process's, if it stored
    /// one first).
    public static func loadOrCreate(from store: any KeyStore) async throws -> CredentialVault {
        var text = try await store.key(.upstreamSecretsKey)
        if text == nil {
            let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
            text = try await store.storeIfAbsent(.upstreamSecretsKey, fresh + "\n")
        }
        guard let text, let bytes = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)),
            bytes.count == 32
        else {
            throw Failure(description: "\(store.location)/\(KeyName.upstreamSecretsKey.rawValue): not a base64 256-bit key")
        }
        return CredentialVault(key: SymmetricKey(data: bytes))
    }

    /// `nonce ‖ ciphertext ‖ tag` of `secret`, bound to `user` and `upstream`.
    public func seal(_ secret: String, user: String, upstream: String) throws -> Data {
        let box = try AES.GCM.seal(Data(secret.utf8), using: key, authenticating: Self.context(user, upstream))
        guard let combined = box.combined else { throw Failure(description: "cannot seal") }
        return combined
    }

    /// The secret, or an error when the data was tampered with, belongs to another user or
    /// upstream, or was sealed with another key.
    public func open(_ sealed: Data, user: String, upstream: String) throws -> String {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            let plain = try AES.GCM.open(box, using: key, authenticating: Self.context(user, upstream))
            guard let text = String(data: plain, encoding: .utf8) else { throw Failure(description: "not text") }
            return text
        } catch {
            throw Failure(description: "stored credentials of \(user) for \(upstream) cannot be decrypted (wrong key or damaged)")
        }
    }

    private static func context(_ user: String, _ upstream: String) -> Data {
        Data("tollgate-upstream-credential\u{0}\(user)\u{0}\(upstream)".utf8)
    }
}
