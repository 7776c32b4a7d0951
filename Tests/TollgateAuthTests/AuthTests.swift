import Foundation
import RegistryCore
import Logging
import Testing
import TollgateFileStorage

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

    @Test func credentialVaultSealsPerUserAndUpstream() async throws {
        let dir = NSTemporaryDirectory() + "tollgate-vault-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let keys = KeyDirectory(path: dir)
        let vault = try await CredentialVault.loadOrCreate(from: keys)
        let attributes = try FileManager.default.attributesOfItem(atPath: keys.file(.upstreamSecretsKey))
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let sealed = try vault.seal("hunter2", user: "alice", upstream: "docker.io")
        #expect(!String(decoding: sealed, as: UTF8.self).contains("hunter2"))
        #expect(try vault.open(sealed, user: "alice", upstream: "docker.io") == "hunter2")
        // The same key again from disk.
        #expect(try await CredentialVault.loadOrCreate(from: keys).open(sealed, user: "alice", upstream: "docker.io") == "hunter2")
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
        try "not base64".write(toFile: keys.file(.upstreamSecretsKey), atomically: true, encoding: .utf8)
        await #expect(throws: CredentialVault.Failure.self) { _ = try await CredentialVault.loadOrCreate(from: keys) }
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
        #expect(book.policy(for: UserName("alice")).allows("docker.io/private/app"))
        #expect(!book.policy(for: UserName("alice")).allows("ghcr.io/x/y"))
        #expect(book.policy(for: UserName("bob")).allows("docker.io/private/app"))
        #expect(!book.policy(for: UserName("bob")).allows("docker.io/library/alpine"))
        #expect(!book.policy(for: UserName("carol")).allows("docker.io/private/app"))
        #expect(!book.policy(for: nil).allows("docker.io/private/app"))
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
