import Foundation
import RegistryCore
import Logging
import Testing
import TollgateFileStorage
import TollgateSQLite

@testable import TollgateAuth

struct RemovedUserTests {
    /// A deleted user's bearer tokens stay void when a new user is given the name.
    @Test func tokensIssuedBeforeRemovalAreVoid() async throws {
        let dir = NSTemporaryDirectory() + "tollgate-removed-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = HtpasswdUserStore(path: dir + "/htpasswd")
        _ = try await store.addUser(UserRecord(name: "ci", passwordHash: try Bcrypt.hash("pw", cost: 4)))
        let auth = Authenticator(
            users: await UserDirectory(store: store, logger: Logger(label: "t")),
            tokens: try await TokenTests.service(), secrets: SecretTokens(store: try SQLiteStore(path: dir + "/t.sqlite")),
            throttle: LoginThrottle(failures: 5, window: .seconds(60)), anonymousAllowed: false,
            policies: PolicyBook(default: AccessPolicy()), logger: Logger(label: "t"))
        let old = try await auth.tokens.issue(subject: "ci", access: [], now: Date().addingTimeInterval(-10))
        guard case .success = await auth.bearer(old.token) else {
            Issue.record("a live user's token refused")
            return
        }
        auth.endSessions(of: UserName("ci")!, removed: Date().addingTimeInterval(-5))
        guard case .failure = await auth.bearer(old.token) else {
            Issue.record("the removed user's token still works for the new user")
            return
        }
        let fresh = try await auth.tokens.issue(subject: "ci", access: [])
        guard case .success = await auth.bearer(fresh.token) else {
            Issue.record("the new user's token refused")
            return
        }
    }
}

struct DummyHashTests {
    static func file(_ costs: [Int]) -> [UserRecord] {
        costs.enumerated().map { i, c in
            UserRecord(name: "u\(i)", passwordHash: "$2y$\(c < 10 ? "0" : "")\(c)$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234")
        }
    }

    @Test func costFollowsTheFile() {
        #expect(UserDirectory.dummyCost(for: Self.file([])) == 10)
        #expect(UserDirectory.dummyCost(for: Self.file([5])) == 5)
        #expect(UserDirectory.dummyCost(for: Self.file([12, 5, 5])) == 5)
        #expect(UserDirectory.dummyCost(for: Self.file([4, 10])) == 4)
        #expect(UserDirectory.dummyCost(for: Self.file([4, 6, 8, 12, 13])) == 8)
    }

    @Test func unmatchableHashHasTheCost() throws {
        let h = try Bcrypt.unmatchableHash(cost: 5)
        #expect(Bcrypt.isBcryptHash(h))
        #expect(Bcrypt.cost(of: h) == 5)
        #expect(!Bcrypt.verify("", hash: h))
        #expect(Bcrypt.cost(of: try Bcrypt.hash("x", cost: 4)) == 4)
    }

    @Test func reloadChoosesTheCostAgain() async throws {
        let dir = NSTemporaryDirectory() + "tollgate-dummy-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/htpasswd"
        let store = HtpasswdUserStore(path: path)
        let users = await UserDirectory(store: store, logger: Logger(label: "t"), reloadInterval: .zero)
        #expect(Bcrypt.cost(of: await users.dummyHash()) == 10)
        _ = try await store.addUser(UserRecord(name: "a", passwordHash: try Bcrypt.hash("pw", cost: 5)))
        #expect(Bcrypt.cost(of: await users.dummyHash()) == 5)
        #expect(await users.verify(user: "nobody", password: "pw") == .invalid)
    }
}

struct TokenTests {
    static func service(_ alg: TokenKeys.Algorithm = .es256, service: String = "svc") async throws -> TokenService {
        let (key, cert) = try TokenKeys.generate(alg)
        let keys = try TokenKeys(keyPEM: key, certificatePEM: cert, algorithm: alg)
        return try await TokenService(keys: keys, issuer: "tollgate", service: service, ttl: .seconds(300))
    }

    @Test(arguments: [TokenKeys.Algorithm.es256, .rs256])
    func roundTrip(_ alg: TokenKeys.Algorithm) async throws {
        let s = try await Self.service(alg)
        let access = [AccessEntry(type: "repository", name: "library/alpine", actions: ["pull"])]
        let issued = try await s.issue(subject: "alice", access: access)
        let claims = try await s.verify(issued.token)
        #expect(claims.sub == "alice")
        #expect(claims.access == access)
        #expect(claims.aud == "svc")
        let header = try #require(Self.json(part: 0, of: issued.token))
        #expect(header["alg"] as? String == alg.rawValue)
        #expect(header["kid"] as? String == s.keys.keyID)
        #expect((header["x5c"] as? [String])?.first == s.keys.certificateBase64)
        #expect(s.jwksJSON.contains(s.keys.keyID))
    }

    @Test func rejections() async throws {
        let s = try await Self.service()
        let issued = try await s.issue(subject: "alice", access: [])
        let now = Date()
        // expired (beyond the 60 s leeway), not yet valid
        await #expect(throws: TokenService.Rejection.self) { try await s.verify(issued.token, now: now + 300 + 61) }
        await #expect(throws: TokenService.Rejection.self) { try await s.verify(issued.token, now: now - 120) }
        // another key (bad signature), another audience
        let other = try await Self.service()
        await #expect(throws: TokenService.Rejection.self) { try await other.verify(issued.token) }
        let wrongAudience = try await Self.service(service: "elsewhere")
        let t2 = try await wrongAudience.issue(subject: "x", access: [])
        await #expect(throws: TokenService.Rejection.self) { try await s.verify(t2.token) }
        // alg none, truncated, garbage, HS256 signed with the public key text (key confusion)
        let parts = issued.token.split(separator: ".")
        let none = Self.b64(#"{"alg":"none","typ":"JWT"}"#) + "." + parts[1] + "."
        let hs = Self.b64(#"{"alg":"HS256","typ":"JWT","kid":"\#(s.keys.keyID)"}"#) + "." + parts[1] + "." + parts[2]
        for bad in [none, hs, String(issued.token.dropLast(5)), "a.b.c", "", String(repeating: "x", count: 20000)] {
            await #expect(throws: TokenService.Rejection.self) { try await s.verify(bad) }
        }
        // an RS256 token when the key is ES256 (wrong key type)
        let rsa = try await Self.service(.rs256)
        let t3 = try await rsa.issue(subject: "x", access: [])
        await #expect(throws: TokenService.Rejection.self) { try await s.verify(t3.token) }
    }

    static func b64(_ s: String) -> String {
        Data(s.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

    static func json(part: Int, of token: String) -> [String: Any]? {
        var s = String(token.split(separator: ".")[part]).replacingOccurrences(of: "-", with: "+")
            .replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
    }
}

struct UserDirectoryTests {
    @Test func verifiesCachesAndSeesChanges() async throws {
        let dir = NSTemporaryDirectory() + "tollgate-users-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/htpasswd"
        let store = HtpasswdUserStore(path: path)
        _ = try await store.addUser(UserRecord(name: "alice", passwordHash: try Bcrypt.hash("pw", cost: 4)))
        let users = await UserDirectory(store: store, logger: Logger(label: "t"), reloadInterval: .zero)
        #expect(await users.verify(user: "alice", password: "pw") == .valid(user: "alice"))
        #expect(await users.verify(user: "alice", password: "nope") == .invalid)
        #expect(await users.verify(user: "nobody", password: "pw") == .invalid)
        // a password change takes effect at once, cache or not
        _ = try await store.setPasswordHash(try Bcrypt.hash("new", cost: 4), user: "alice")
        #expect(await users.verify(user: "alice", password: "pw") == .invalid)
        #expect(await users.verify(user: "alice", password: "new") == .valid(user: "alice"))
        _ = try await store.setDisabled(true, user: "alice")
        #expect(await users.verify(user: "alice", password: "new") == .disabled(user: "alice"))
        _ = try await store.deleteUser("alice")
        #expect(await users.verify(user: "alice", password: "new") == .invalid)
    }
}

struct TokenKeyStoreTests {
    /// Generated once, kept (key 0600), the same key on every load; a certificate left without
    /// its key is replaced with the new key's.
    @Test func keysAreCreatedOnceAndReloaded() async throws {
        let dir = NSTemporaryDirectory() + "tollgate-keys-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = KeyDirectory(path: dir)
        let first = try await TokenKeys.loadOrCreate(from: store, algorithm: .es256)
        let mode = try FileManager.default.attributesOfItem(atPath: store.file(.tokenSigningKey))[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try await TokenKeys.loadOrCreate(from: store, algorithm: .es256).keyID == first.keyID)
        // Two processes starting at once agree on one key.
        async let a = TokenKeys.loadOrCreate(from: KeyDirectory(path: dir + "/race"), algorithm: .es256)
        async let b = TokenKeys.loadOrCreate(from: KeyDirectory(path: dir + "/race"), algorithm: .es256)
        #expect(try await a.keyID == (try await b.keyID))
        // The key removed by hand: a new pair, the stale certificate replaced.
        try FileManager.default.removeItem(atPath: store.file(.tokenSigningKey))
        #expect(try await TokenKeys.loadOrCreate(from: store, algorithm: .es256).keyID != first.keyID)
        // The wrong kind of key for the configured algorithm is an error, not a new key.
        await #expect(throws: TokenKeys.Failure.self) { _ = try await TokenKeys.loadOrCreate(from: store, algorithm: .rs256) }
    }
}

struct SealedKeyStoreTests {
    @Test func secretKeysAreSealedAndOnlyTheSameSecretOpensThem() async throws {
        let dir = NSTemporaryDirectory() + "sealed-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = KeyDirectory(path: dir)
        let sealed = SealedKeyStore(base: base, secret: "cluster secret one")
        #expect(try await sealed.storeIfAbsent(.tokenSigningKey, "PRIVATE KEY") == "PRIVATE KEY")
        #expect(try await sealed.key(.tokenSigningKey) == "PRIVATE KEY")
        let raw = try #require(try await base.key(.tokenSigningKey))
        #expect(raw.hasPrefix("sealed-v1:") && !raw.contains("PRIVATE"))
        // The certificate is public: stored as it is.
        try await sealed.replace(.tokenCertificate, "CERT")
        #expect(try await base.key(.tokenCertificate) == "CERT")
        // Another secret can't read it, and says why.
        await #expect(throws: SealedKeyError.wrongSecret(.tokenSigningKey)) {
            try await SealedKeyStore(base: base, secret: "another").key(.tokenSigningKey)
        }
        // A sealed key moved under another name doesn't open.
        _ = try await base.storeIfAbsent(.upstreamSecretsKey, raw)
        await #expect(throws: SealedKeyError.wrongSecret(.upstreamSecretsKey)) {
            try await sealed.key(.upstreamSecretsKey)
        }
        // A key stored unsealed (by a node without the secret) is refused, not used.
        let other = KeyDirectory(path: dir + "/plain")
        _ = try await other.storeIfAbsent(.tokenSigningKey, "PLAIN")
        await #expect(throws: SealedKeyError.notSealed(.tokenSigningKey, location: other.location)) {
            try await SealedKeyStore(base: other, secret: "x").key(.tokenSigningKey)
        }
    }
}

struct AccountEndTests {
    /// After its last day an account's password, personal tokens and bearer tokens stop working,
    /// with a message of their own (not a failed guess); before it, everything works.
    @Test func anExpiredAccountIsRefusedEverywhere() async throws {
        let dir = NSTemporaryDirectory() + "tollgate-expiry-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = HtpasswdUserStore(path: dir + "/htpasswd")
        _ = try await store.addUser(UserRecord(name: "ci", passwordHash: try Bcrypt.hash("pw", cost: 4)))
        let accounts = AccountBook(today: { "2027-02-01" })
        let auth = Authenticator(
            users: await UserDirectory(store: store, logger: Logger(label: "t")),
            tokens: try await TokenTests.service(), secrets: SecretTokens(store: try SQLiteStore(path: dir + "/t.sqlite")),
            throttle: LoginThrottle(failures: 2, window: .seconds(60)), anonymousAllowed: false,
            policies: PolicyBook(default: AccessPolicy()), accounts: accounts, logger: Logger(label: "t"))
        let pat = try await auth.secrets.create(user: "ci", kind: .personal, label: "x", expires: nil).secret
        let bearer = try await auth.tokens.issue(subject: "ci", access: []).token
        accounts.replace(["ci": .init(expires: "2027-02-01")])  // today is the last day: works
        #expect(await auth.login(user: "ci", password: "pw", client: nil) == .ok(.user(UserName("ci")!), via: .password))
        #expect(await auth.isActive("ci"))
        accounts.replace(["ci": .init(expires: "2027-01-31")])
        for _ in 0..<3 {  // more than the lockout allows: an expired account is not a guess
            #expect(await auth.login(user: "ci", password: "pw", client: nil) == .expired("2027-01-31"))
        }
        #expect(await auth.login(user: "ci", password: pat, client: nil) == .expired("2027-01-31"))
        #expect(await auth.login(user: "ci", password: "wrong", client: nil) == .invalid)
        #expect(!(await auth.isActive("ci")))
        guard case .failure = await auth.bearer(bearer) else {
            Issue.record("an expired account's bearer token still works")
            return
        }
        #expect(accounts.expiringSoon(within: 30, from: Date()).isEmpty)
    }
}
