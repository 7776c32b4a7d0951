import Foundation
import Testing
import TollgateAuth

/// The contract of `KeyStore`, for every adapter.
public struct KeyStoreConformance<Store: KeyStore>: ConformanceSuite {
    let engine: Engine<Store>

    public init(_ engine: Engine<Store>) { self.engine = engine }

    public var checks: [Check] {
        [
            ("aKeyIsStoredOnceAndNeverReplacedByStoreIfAbsent", aKeyIsStoredOnceAndNeverReplacedByStoreIfAbsent),
            ("replaceIsForDerivedKeys", replaceIsForDerivedKeys),
            ("survivesARestart", survivesARestart),
            ("concurrentStartsAgreeOnOneKey", concurrentStartsAgreeOnOneKey),
        ]
    }

    func aKeyIsStoredOnceAndNeverReplacedByStoreIfAbsent() async throws {
        let keys = try await engine.open().store
        #expect(!keys.location.isEmpty)
        for name in KeyName.allCases { #expect(try await keys.key(name) == nil) }
        #expect(try await keys.storeIfAbsent(.tokenSigningKey, "first\n") == "first\n")
        #expect(try await keys.storeIfAbsent(.tokenSigningKey, "second\n") == "first\n")
        #expect(try await keys.key(.tokenSigningKey) == "first\n")
        // Names are separate.
        #expect(try await keys.key(.upstreamSecretsKey) == nil)
        #expect(try await keys.storeIfAbsent(.upstreamSecretsKey, "vault") == "vault")
        #expect(try await keys.key(.tokenSigningKey) == "first\n")
    }

    func replaceIsForDerivedKeys() async throws {
        let keys = try await engine.open().store
        try await keys.replace(.tokenCertificate, "cert 1")
        try await keys.replace(.tokenCertificate, "cert 2")
        #expect(try await keys.key(.tokenCertificate) == "cert 2")
    }

    func survivesARestart() async throws {
        let (keys, reopen) = try await engine.open()
        _ = try await keys.storeIfAbsent(.tokenSigningKey, "kept")
        try await keys.replace(.tokenCertificate, "its certificate")
        let again = try await reopen()
        #expect(try await again.key(.tokenSigningKey) == "kept")
        #expect(try await again.key(.tokenCertificate) == "its certificate")
        #expect(try await again.storeIfAbsent(.tokenSigningKey, "new") == "kept")
    }

    /// Two writers at once (two processes starting): both get the one key that was stored.
    func concurrentStartsAgreeOnOneKey() async throws {
        let (keys, reopen) = try await engine.open()
        let other = try await reopen()
        for name in [KeyName.upstreamSecretsKey, .tokenSigningKey] {
            async let a = keys.storeIfAbsent(name, "a")
            async let b = other.storeIfAbsent(name, "b")
            let (x, y) = try await (a, b)
            #expect(x == y)
            #expect(try await keys.key(name) == x)
        }
    }
}
