import Synchronization
import TollgateAuth

/// `KeyStore` in memory, for unit tests.
public final class InMemoryKeyStore: KeyStore {
    private let keys = Mutex<[KeyName: String]>([:])

    public init() {}

    public var location: String { "memory" }

    public func key(_ name: KeyName) async throws -> String? { keys.withLock { $0[name] } }

    public func storeIfAbsent(_ name: KeyName, _ text: String) async throws -> String {
        keys.withLock { keys in
            if let stored = keys[name] { return stored }
            keys[name] = text
            return text
        }
    }

    public func replace(_ name: KeyName, _ text: String) async throws { keys.withLock { $0[name] = text } }
}
