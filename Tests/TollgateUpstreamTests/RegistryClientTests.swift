import Logging
import NIOCore
import RegistryCore
import Testing
import TollgateTestSupport

@testable import TollgateUpstream

struct RegistryClientTests {
    let repo = try! RepositoryName(parsing: "org/app")

    func client(_ port: Int, credentials: StaticCredentials? = nil, firstByte: Double = 5)
        -> RegistryClient
    {
        RegistryClient(
            configuration: UpstreamConfiguration(
                name: UpstreamName("fake")!, url: "http://127.0.0.1:\(port)", credentials: credentials, connectTimeout: 2,
                firstByteTimeout: firstByte, idleTimeout: 2),
            logger: Logger(label: "test"))
    }

    /// Runs `body` with a client, shutting it down however `body` ends.
    func withClient(
        _ port: Int, credentials: StaticCredentials? = nil,
        _ body: (RegistryClient) async throws -> Void
    ) async throws {
        try await closing(client(port, credentials: credentials), body)
    }

    @Test func bearerDanceFetchesOneTokenPerScope() async throws {
        let fake = FakeRegistry()
        fake.setOptions { $0.bearer = true }
        let blob = fake.addBlob(Array(repeating: 7, count: 1000))
        let port = PortBox()
        try await withLiveServer(fake.router(realm: { "http://127.0.0.1:\(port.value)/token" })) { p in
            port.value = p
            try await withClient(p) { c in
            for _ in 0..<3 {
                let r = try await c.blob(repo, blob, method: .GET)
                #expect(r.status == 200)
                #expect(try await r.collect(upTo: 1 << 20).readableBytes == 1000)
            }
            #expect(fake.tokensIssued == 1)
            #expect(fake.log.contains { $0.contains("scope=repository:org/app:pull") || $0.contains("scope=repository%3Aorg%2Fapp%3Apull") })
            }
        }
    }

    @Test func tokensAreNeverSharedAcrossCredentialIdentities() async throws {
        let fake = FakeRegistry()
        fake.setOptions { $0.bearer = true }
        let blob = fake.addBlob(Array(repeating: 7, count: 100))
        let port = PortBox()
        try await withLiveServer(fake.router(realm: { "http://127.0.0.1:\(port.value)/token" })) { p in
            port.value = p
            try await withClient(p) { c in
                let alice = UpstreamIdentity.user(UserName("alice")!, StaticCredentials(username: "a", password: "pa"))
                let bob = UpstreamIdentity.user(UserName("bob")!, StaticCredentials(username: "b", password: "pb"))
                let aliceNewPassword = UpstreamIdentity.user(UserName("alice")!, StaticCredentials(username: "a", password: "changed"))
                for identity in [alice, bob, c.shared, alice, bob, c.shared, aliceNewPassword] {
                    let r = try await c.blob(repo, blob, method: .HEAD, as: identity)
                    #expect(r.status == 200)
                }
                // One token per identity (and a changed password is a new identity).
                #expect(fake.tokensIssued == 4)
                // The token server saw each user's account, never another's.
                #expect(fake.log.filter { $0.contains("account=a") }.count == 2)
                #expect(fake.log.filter { $0.contains("account=b") }.count == 1)
                #expect(!alice.description.contains("pa") && !"\(alice)".contains("pa"))
            }
        }
    }

    @Test func basicChallengeUsesConfiguredCredentials() async throws {
        let fake = FakeRegistry()
        fake.setOptions { $0.basic = ("u", "p") }
        let digest = fake.addImage(repo: "org/app", tag: "v1", layers: [])
        try await withLiveServer(fake.router(realm: { "" })) { p in
            try await withClient(p, credentials: .init(username: "u", password: "p")) { c in
            let r = try await c.manifest(repo, .tag(try Tag(parsing: "v1")), accept: MediaType.dockerManifest, method: .GET)
            #expect(r.status == 200)
            #expect(r.digestHeader == digest)
            await r.discard()
            }
            // Without credentials the 401 is passed on.
            try await withClient(p) { anon in
            let r2 = try await anon.manifest(repo, .tag(try Tag(parsing: "v1")), accept: MediaType.dockerManifest, method: .GET)
            #expect(r2.status == 401)
            await r2.discard()
            }
        }
    }

    @Test func redirectToAnotherHostCarriesNoAuthorization() async throws {
        let fake = FakeRegistry()
        fake.setOptions { $0.basic = ("u", "p") }
        let blob = fake.addBlob(Array(repeating: 1, count: 5000))
        try await withLiveServer(fake.cdnRouter(), host: "127.0.0.2") { cdnPort in
            fake.setOptions { $0.blobRedirect = "http://127.0.0.2:\(cdnPort)" }
            try await withLiveServer(fake.router(realm: { "" })) { p in
                try await withClient(p, credentials: .init(username: "u", password: "p")) { c in
                let r = try await c.blob(repo, blob, method: .GET)
                #expect(r.status == 200)
                #expect(try await r.collect(upTo: 1 << 20).readableBytes == 5000)
                #expect(fake.log.contains { $0.hasPrefix("CDN GET") && $0.hasSuffix("auth=none") })
                #expect(!fake.log.contains { $0.hasPrefix("CDN GET") && !$0.hasSuffix("auth=none") })
                }
            }
        }
    }

    @Test func unreachableUpstreamIsClassified() async throws {
        // A port nothing listens on (bind, read the port, close).
        try await withClient(1) { c in
            await #expect {
                _ = try await c.manifest(repo, .tag(try Tag(parsing: "x")), accept: "*/*", method: .GET)
            } throws: { error in
                (error as? UpstreamError)?.kind == .unreachable
            }
        }
    }

    @Test func tokenCacheExpiresEntries() {
        let cache = TokenCache()
        let now = ContinuousClock.now
        cache.store("t", for: "s", lifetime: .seconds(60), now: now)
        #expect(cache.token(for: "s", now: now + .seconds(30)) == "t")
        #expect(cache.token(for: "s", now: now + .seconds(55)) == nil)
    }
}

/// A mutable port number the fake's realm closure reads once the server runs.
final class PortBox: @unchecked Sendable {
    // Written once before any request can read it.
    var value = 0
}
