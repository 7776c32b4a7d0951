import Crypto
import Foundation

/// A `KeyStore` whose secret keys are kept sealed (AES-256-GCM) under a key derived from a shared
/// secret: the cluster's keys live in its database, readable only by nodes that hold the cluster
/// secret. Each sealed text is bound to its key's name, so one can't be swapped for another.
/// Public keys (the token certificate) are stored as they are.
public struct SealedKeyStore: KeyStore {
    let base: any KeyStore
    let key: SymmetricKey
    static let prefix = "sealed-v1:"

    /// `secret`: the cluster secret (any length; at least 32 bytes of randomness recommended).
    public init(base: any KeyStore, secret: String) {
        self.base = base
        self.key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: Data(secret.utf8)), salt: Data("tollgate".utf8),
            info: Data("tollgate stored keys v1".utf8), outputByteCount: 32)
    }

    public var location: String { base.location + " (sealed with the cluster secret)" }

    public func key(_ name: KeyName) async throws -> String? {
        try await base.key(name).map { try open($0, name) }
    }

    public func storeIfAbsent(_ name: KeyName, _ text: String) async throws -> String {
        try open(try await base.storeIfAbsent(name, try seal(text, name)), name)
    }

    public func replace(_ name: KeyName, _ text: String) async throws {
        try await base.replace(name, try seal(text, name))
    }

    func seal(_ text: String, _ name: KeyName) throws -> String {
        guard name.isSecret else { return text }
        let box = try AES.GCM.seal(Data(text.utf8), using: key, authenticating: Data(name.rawValue.utf8))
        guard let combined = box.combined else { throw SealedKeyError.cannotSeal(name) }
        return Self.prefix + combined.base64EncodedString()
    }

    func open(_ stored: String, _ name: KeyName) throws -> String {
        guard name.isSecret else { return stored }
        guard stored.hasPrefix(Self.prefix), let combined = Data(base64Encoded: String(stored.dropFirst(Self.prefix.count)))
        else { throw SealedKeyError.notSealed(name, location: base.location) }
        do {
            let plain = try AES.GCM.open(AES.GCM.SealedBox(combined: combined), using: key, authenticating: Data(name.rawValue.utf8))
            guard let text = String(data: plain, encoding: .utf8) else { throw SealedKeyError.wrongSecret(name) }
            return text
        } catch let e as SealedKeyError {
            throw e
        } catch {
            throw SealedKeyError.wrongSecret(name)
        }
    }
}

public enum SealedKeyError: Error, CustomStringConvertible, Equatable {
    case cannotSeal(KeyName)
    case notSealed(KeyName, location: String)
    case wrongSecret(KeyName)

    public var description: String {
        switch self {
        case .cannotSeal(let name): "could not seal key \(name.rawValue)"
        case .notSealed(let name, let location): "key \(name.rawValue) in \(location) is not sealed with a cluster secret"
        case .wrongSecret(let name):
            "key \(name.rawValue) was sealed with another cluster secret: every node needs the same cluster.secret_file"
        }
    }
}
