import Foundation
import RegistryCore
import Logging
import Testing
import TollgateStorage

@testable import TollgateAuth

struct HtpasswdTests {
    // Written by Apache's `htpasswd -nbB alice alice-example-password` (cost 10).
    static let apacheLine = "alice:$2y$10$6/7Dvee..aJjVhyutyQNfek1wrT0thKWsJqYzGqUhND1pKBfQ3NWq"

    @Test func parsesOddLines() {
        let f = Htpasswd(
            text: """
                # comment
                \(Self.apacheLine)

                md5user:$apr1$abc$defghijklmnopqrstuvwx
                shauser:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=
                nocolon
                bob:!$2b$05$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234
                bad name:$2y$10$6/7Dvee..aJjVhyutyQNfek1wrT0thKWsJqYzGqUhND1pKBfQ3NWq
                alice:$2y$10$6/7Dvee..aJjVhyutyQNfek1wrT0thKWsJqYzGqUhND1pKBfQ3NWq
                carol:$2a$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234:extra
                """)
        #expect(Set(f.users.keys) == ["alice", "bob", "carol"])
        #expect(f.users["bob"]?.disabled == true)
        #expect(f.problems.map(\.line) == [4, 5, 6, 8, 9])
        #expect(f.problems[0].user == "md5user")
        #expect(f.problems[0].description.contains("line 4"))
    }

    @Test func editsKeepOtherLines() {
        var f = Htpasswd(text: "# users\n\(Self.apacheLine)\n")
        let hash = "$2y$05$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"
        f.setPassword(user: "bob", hash: hash)
        let disabled = f.setDisabled(user: "bob", true)
        #expect(disabled)
        f.setPassword(user: "bob", hash: hash)  // keeps the disabled mark
        #expect(f.users["bob"]?.disabled == true)
        let removed = f.remove(user: "alice"), again = f.remove(user: "alice")
        #expect(removed)
        #expect(!again)
        #expect(f.text == "# users\nbob:!\(hash)\n")
    }

    @Test(arguments: ["", "a:b", "a b", "tab\there", "nl\n", String(repeating: "x", count: 256)])
    func invalidNames(_ name: String) { #expect(Htpasswd.invalidName(name) != nil) }
}

struct BcryptTests {
    @Test func verifiesApacheHash() {
        let hash = String(HtpasswdTests.apacheLine.dropFirst("alice:".count))
        #expect(Bcrypt.verify("alice-example-password", hash: hash))
        #expect(!Bcrypt.verify("wrong", hash: hash))
        #expect(!Bcrypt.verify("alice-example-password", hash: "$apr1$abc$defghijklmnopqrstuvwx"))
    }

    @Test func hashRoundTrip() throws {
        let h = try Bcrypt.hash("pässword", cost: 4)
        #expect(h.hasPrefix("$2y$04$"))
        #expect(Bcrypt.isBcryptHash(h))
        #expect(Bcrypt.verify("pässword", hash: h))
        #expect(throws: Bcrypt.Failure.self) { try Bcrypt.hash("x", cost: 40) }
    }
}

struct ScopeTests {
    @Test func parsing() {
        #expect(Scope(parsing: "repository:library/alpine:pull") == Scope(type: "repository", name: "library/alpine", actions: ["pull"]))
        #expect(Scope(parsing: "repository:localhost:5000/x:pull,push")?.name == "localhost:5000/x")
        #expect(Scope(parsing: "repository(plugin):x:pull")?.type == "repository")
        #expect(Scope(parsing: "registry:catalog:*")?.actions == ["*"])
        for bad in ["", "repository", "repository:x", "::pull", "repository:x:pu ll", "repo(x:y:pull"] {
            #expect(Scope(parsing: bad) == nil, "\(bad)")
        }
        #expect(Scope.parseAll(["repository:a:pull repository:b:pull", "nonsense"]).map(\.name) == ["a", "b"])
    }

    @Test func grantsOnlyPullOnAllowedRepositories() {
        // Names as clients write them, routed like the server does: a known upstream prefix, else docker.io.
        let canonical = { (n: RepositoryName) -> String? in
            let parts = n.value.split(separator: "/", maxSplits: 1)
            if parts[0] == "ghcr.io", parts.count == 2 { return n.value }
            if parts[0] == "nowhere.io" { return nil }
            return "docker.io/" + (parts.count == 1 ? "library/" + n.value : n.value)
        }
        func grant(_ p: AccessPolicy, _ name: String, _ actions: [String] = ["pull"]) -> AccessEntry? {
            p.grant(Scope(type: "repository", name: name, actions: actions), canonical: canonical)
        }
        let policy = AccessPolicy(allow: ["docker.io/library/*", "ghcr.io/org/**"], deny: ["docker.io/library/secret"])
        #expect(grant(policy, "library/alpine", ["pull", "push"]) == AccessEntry(type: "repository", name: "library/alpine", actions: ["pull"]))
        #expect(grant(policy, "alpine") != nil)  // docker.io/library/alpine
        #expect(grant(policy, "secret") == nil)
        #expect(grant(policy, "library/secret") == nil)
        #expect(grant(policy, "library/a/b") == nil)
        #expect(grant(policy, "ghcr.io/org/a/b") != nil)
        #expect(grant(policy, "ghcr.io/other/a") == nil)
        #expect(grant(AccessPolicy.everything, "nowhere.io/x") == nil)  // no such upstream
        #expect(grant(policy, "library/alpine", ["push"]) == nil)
        #expect(grant(AccessPolicy.everything, "../x") == nil)
        #expect(policy.grant(Scope(type: "registry", name: "catalog", actions: ["*"]), canonical: canonical) == nil)
        #expect(AccessPolicy.everything.grant(Scope(type: "registry", name: "catalog", actions: ["*"]), canonical: canonical) != nil)
    }

    @Test func credentialVaultSealsPerUserAndUpstream() throws {
        let dir = NSTemporaryDirectory() + "tollgate-vault-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let vault = try CredentialVault.loadOrCreate(in: dir)
        let attributes = try FileManager.default.attributesOfItem(atPath: CredentialVault.keyPath(dir))
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let sealed = try vault.seal("hunter2", user: "alice", upstream: "docker.io")
        #expect(!String(decoding: sealed, as: UTF8.self).contains("hunter2"))
        #expect(try vault.open(sealed, user: "alice", upstream: "docker.io") == "hunter2")
        // The same key again from disk.
        #expect(try CredentialVault.loadOrCreate(in: dir).open(sealed, user: "alice", upstream: "docker.io") == "hunter2")
        // Bound to its user and upstream.
        #expect(throws: CredentialVault.Failure.self) { try vault.open(sealed, user: "bob", upstream: "docker.io") }
        #expect(throws: CredentialVault.Failure.self) { try vault.open(sealed, user: "alice", upstream: "ghcr.io") }
        // Tampered or truncated ciphertext, another key.
        var tampered = sealed
        tampered[tampered.count / 2] ^= 0x01
        #expect(throws: CredentialVault.Failure.self) { try vault.open(tampered, user: "alice", upstream: "docker.io") }
        #expect(throws: CredentialVault.Failure.self) { try vault.open(sealed.prefix(10), user: "alice", upstream: "docker.io") }
        let other = CredentialVault(key: .init(size: .bits256))
        #expect(throws: CredentialVault.Failure.self) { try other.open(sealed, user: "alice", upstream: "docker.io") }
        // A damaged key file is an error, not a new key.
        try "not base64".write(toFile: CredentialVault.keyPath(dir), atomically: true, encoding: .utf8)
        #expect(throws: CredentialVault.Failure.self) { _ = try CredentialVault.loadOrCreate(in: dir) }
    }

    @Test func manyDoubleStarsAgainstALongNameStayCheap() {
        let name = (0..<61).map { "c\($0)" }.joined(separator: "/")
        let glob = Array(repeating: "**", count: 8).joined(separator: "/") + "/x"
        let started = ContinuousClock.now
        #expect(!AccessPolicy(allow: [glob]).allows(name))
        #expect(AccessPolicy(allow: [Array(repeating: "**", count: 8).joined(separator: "/") + "/c60"]).allows(name))
        #expect(ContinuousClock.now - started < .milliseconds(200))  // the backtracking matcher took seconds
    }

    @Test func userPoliciesReplaceTheDefaultLists() {
        let book = PolicyBook(default: AccessPolicy(allow: ["**"], deny: ["docker.io/private/**"]))
        book.replace(["alice": (allow: nil, deny: ["ghcr.io/**"]), "bob": (allow: ["docker.io/private/app"], deny: [])])
        #expect(book.policy(for: "alice").allows("docker.io/private/app"))
        #expect(!book.policy(for: "alice").allows("ghcr.io/x/y"))
        #expect(book.policy(for: "bob").allows("docker.io/private/app"))
        #expect(!book.policy(for: "bob").allows("docker.io/library/alpine"))
        #expect(!book.policy(for: "carol").allows("docker.io/private/app"))
        #expect(!book.policy(for: "").allows("docker.io/private/app"))
        #expect(book.refusal("x").code == .denied)
        #expect(PolicyBook(default: .everything, hideDenied: true).refusal("x").code == .nameUnknown)
    }

    @Test(arguments: [
        ("**", "a/b/c", true), ("a/*", "a/b", true), ("a/*", "a/b/c", false), ("a/**", "a", true),
        ("a/**/z", "a/b/c/z", true), ("a/b*", "a/bcd", true), ("a/*d", "a/bcd", true), ("a/*x*", "a/bcd", false),
        ("ghcr.io/org/*", "ghcr.io/org/tool", true), ("ghcr.io/org/*", "docker.io/org/tool", false),
    ])
    func globs(_ pattern: String, _ name: String, _ expected: Bool) {
        #expect(AccessPolicy.matches(pattern, name) == expected)
    }
}

struct ThrottleTests {
    static func fail(_ t: LoginThrottle, _ keys: [LoginThrottle.Key], now: ContinuousClock.Instant) {
        guard case .admitted(let slot) = t.tryBegin(keys, queue: false, now: now) else {
            Issue.record("not admitted")
            return
        }
        t.failed(slot, now: now)
    }

    @Test func locksAfterFailuresAndUnlocksAfterWindow() {
        let t = LoginThrottle(failures: 3, window: .seconds(60))
        let now = ContinuousClock.now
        for _ in 0..<3 { Self.fail(t, [.user("a"), .address("1")], now: now) }
        #expect(t.retryAfter([.user("a")], now: now + .seconds(10)) == 50)
        #expect(t.retryAfter([.address("1")], now: now) == 60)
        #expect(t.retryAfter([.user("b")], now: now) == nil)
        #expect(t.retryAfter([.user("a")], now: now + .seconds(61)) == nil)
        guard case .locked(50) = t.tryBegin([.user("a")], queue: false, now: now + .seconds(10)) else {
            Issue.record("not locked")
            return
        }
        // A success clears the user's failures (not the address's).
        Self.fail(t, [.user("c")], now: now)
        guard case .admitted(let slot) = t.tryBegin([.user("c")], queue: false, now: now) else {
            Issue.record("not admitted")
            return
        }
        t.succeeded(slot, userKey: .user("c"))
        Self.fail(t, [.user("c")], now: now)
        Self.fail(t, [.user("c")], now: now)
        #expect(t.retryAfter([.user("c")], now: now) == nil)
    }

    /// A right password among a burst of guesses that overflowed the slots is refused and locks
    /// the key; a burst of right passwords (one account's many clients at once) is not refused.
    @Test func aRightPasswordInABurstOfGuessesIsRefused() async {
        let t = LoginThrottle(failures: 3, window: .seconds(60), maxWait: .seconds(2), maxWaiting: 1)
        let keys: [LoginThrottle.Key] = [.user("v"), .address("1")]
        var slots: [LoginThrottle.Slot] = []
        for _ in 0..<3 {
            if case .admitted(let s) = t.tryBegin(keys, queue: false) { slots.append(s) }
        }
        guard case .busy(enqueued: true) = t.tryBegin(keys, queue: true) else { Issue.record("no waiting place"); return }
        guard case .busy(enqueued: false) = t.tryBegin(keys, queue: true) else { Issue.record("no overflow"); return }
        // slot 0 holds the right password; it is verified before the others fail
        let right = slots[0]
        async let verdict = t.settleSuccess(right, userKey: .user("v"))
        try? await Task.sleep(for: .milliseconds(50))
        t.failed(slots[1])
        t.failed(slots[2])
        #expect(await verdict == false)
        #expect(t.retryAfter([.user("v")]) != nil)

        let robots = LoginThrottle(failures: 3, window: .seconds(60), maxWait: .seconds(2), maxWaiting: 1)
        var good: [LoginThrottle.Slot] = []
        for _ in 0..<3 {
            if case .admitted(let s) = robots.tryBegin(keys, queue: false) { good.append(s) }
        }
        _ = robots.tryBegin(keys, queue: true)
        _ = robots.tryBegin(keys, queue: true)  // overflows
        let all = good
        let verdicts = await withTaskGroup(of: Bool.self) { group in
            for slot in all { group.addTask { await robots.settleSuccess(slot, userKey: .user("v")) } }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(verdicts == [true, true, true])
        #expect(robots.retryAfter([.user("v")]) == nil)
    }

    /// The rule: an attempt takes its slot before it is checked, so attempts in flight count.
    @Test func attemptsInFlightCountTowardFailures() {
        let t = LoginThrottle(failures: 3, window: .seconds(60))
        let now = ContinuousClock.now
        var slots: [LoginThrottle.Slot] = []
        for _ in 0..<3 {
            if case .admitted(let s) = t.tryBegin([.user("a"), .address("1")], queue: false, now: now) { slots.append(s) }
        }
        #expect(slots.count == 3)
        guard case .busy = t.tryBegin([.user("a"), .address("2")], queue: false, now: now) else {
            Issue.record("a fourth attempt in flight was admitted")
            return
        }
        guard case .busy = t.tryBegin([.user("b"), .address("1")], queue: false, now: now) else {
            Issue.record("the address's fourth attempt was admitted")
            return
        }
        // A success gives its slot back; failures keep theirs.
        t.succeeded(slots[0], userKey: .user("a"))
        t.failed(slots[1], now: now)
        t.failed(slots[2], now: now)
        guard case .admitted(let s) = t.tryBegin([.user("a")], queue: false, now: now) else {
            Issue.record("the freed slot was not given")
            return
        }
        t.failed(s, now: now)
        guard case .locked = t.tryBegin([.user("a")], queue: false, now: now) else {
            Issue.record("three failures did not lock")
            return
        }
    }

    /// 60 parallel attempts that all fail: exactly `failures` get checked, the rest are refused
    /// (after waiting for the slots, which end as failures).
    @Test func aBurstGetsAtMostFailuresVerdicts() async {
        let t = LoginThrottle(failures: 5, window: .seconds(60), maxWait: .seconds(2), maxWaiting: 20)
        let checked = await Self.count(60) {
            guard case .admitted(let slot) = await t.begin([.user("v"), .address("1")]) else { return false }
            try? await Task.sleep(for: .milliseconds(30))  // the bcrypt check
            t.failed(slot)
            return true
        }
        #expect(checked == 5)
        #expect(t.retryAfter([.user("v")]) != nil)
    }

    /// Attempts that succeed give their slots back, so parallel good logins queue, not fail.
    @Test func parallelGoodLoginsWaitForSlots() async {
        let t = LoginThrottle(failures: 2, window: .seconds(60), maxWait: .seconds(5), maxWaiting: 20)
        let admitted = await Self.count(12) {
            guard case .admitted(let slot) = await t.begin([.user("g"), .address("1")]) else { return false }
            try? await Task.sleep(for: .milliseconds(10))
            t.succeeded(slot, userKey: .user("g"))
            return true
        }
        #expect(admitted == 12)
    }

    /// Runs `attempt` `n` times in parallel; how many returned true.
    static func count(_ n: Int, _ attempt: @escaping @Sendable () async -> Bool) async -> Int {
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<n { group.addTask(operation: attempt) }
            var ok = 0
            for await result in group where result { ok += 1 }
            return ok
        }
    }
}

struct RemovedUserTests {
    /// A deleted user's bearer tokens stay void when a new user is given the name.
    @Test func tokensIssuedBeforeRemovalAreVoid() async throws {
        let dir = NSTemporaryDirectory() + "tollgate-removed-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try HtpasswdFile.update(dir + "/htpasswd") { $0.setPassword(user: "ci", hash: try! Bcrypt.hash("pw", cost: 4)) }
        let auth = Authenticator(
            users: try UserDirectory(path: dir + "/htpasswd", logger: Logger(label: "t")),
            tokens: try await TokenTests.service(), secrets: SecretTokens(store: try SQLiteMetadataStore(path: dir + "/t.sqlite")),
            throttle: LoginThrottle(failures: 5, window: .seconds(60)), anonymousAllowed: false,
            policies: PolicyBook(default: AccessPolicy()), logger: Logger(label: "t"))
        let old = try await auth.tokens.issue(subject: "ci", access: [], now: Date().addingTimeInterval(-10))
        guard case .success = await auth.bearer(old.token) else {
            Issue.record("a live user's token refused")
            return
        }
        auth.endSessions(of: "ci", removed: Date().addingTimeInterval(-5))
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
    static func file(_ costs: [Int]) -> Htpasswd {
        let lines = costs.enumerated().map { i, c in
            "u\(i):$2y$\(c < 10 ? "0" : "")\(c)$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"
        }
        return Htpasswd(text: lines.joined(separator: "\n"))
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
        let users = try UserDirectory(path: path, logger: Logger(label: "t"), reloadInterval: .zero)
        #expect(Bcrypt.cost(of: users.dummyHash) == 10)
        try HtpasswdFile.update(path) { $0.setPassword(user: "a", hash: try! Bcrypt.hash("pw", cost: 5)) }
        #expect(Bcrypt.cost(of: users.dummyHash) == 5)
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
        try HtpasswdFile.update(path) { $0.setPassword(user: "alice", hash: try! Bcrypt.hash("pw", cost: 4)) }
        let users = try UserDirectory(path: path, logger: Logger(label: "t"), reloadInterval: .zero)
        #expect(await users.verify(user: "alice", password: "pw") == .valid(user: "alice"))
        #expect(await users.verify(user: "alice", password: "nope") == .invalid)
        #expect(await users.verify(user: "nobody", password: "pw") == .invalid)
        // a password change takes effect at once, cache or not
        try HtpasswdFile.update(path) { $0.setPassword(user: "alice", hash: try! Bcrypt.hash("new", cost: 4)) }
        #expect(await users.verify(user: "alice", password: "pw") == .invalid)
        #expect(await users.verify(user: "alice", password: "new") == .valid(user: "alice"))
        try HtpasswdFile.update(path) { _ = $0.setDisabled(user: "alice", true) }
        #expect(await users.verify(user: "alice", password: "new") == .disabled(user: "alice"))
        try HtpasswdFile.update(path) { _ = $0.remove(user: "alice") }
        #expect(await users.verify(user: "alice", password: "new") == .invalid)
    }
}
