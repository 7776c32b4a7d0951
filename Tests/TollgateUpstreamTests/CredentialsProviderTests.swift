import Logging
import RegistryCore
import Synchronization
import Testing
import TollgateTestSupport

@testable import TollgateUpstream

/// The auth layer asks an identity's `UpstreamCredentialsProvider` whenever credentials are to be
/// sent, names where they go (the upstream's origin, or its pinned token realm), and sends the
/// answer there only: never to a redirect target.
struct CredentialsProviderTests {
    let repo = try! RepositoryName(parsing: "org/app")

    /// A provider test double: answers `given`, or throws `failure`, and records every request.
    final class RecordingProvider: UpstreamCredentialsProvider {
        let given: UpstreamCredentials?
        let failure: UpstreamError?
        private let asked = Mutex<[UpstreamCredentialsRequest]>([])
        init(_ given: UpstreamCredentials?, failing failure: UpstreamError? = nil) {
            self.given = given
            self.failure = failure
        }
        var fingerprint: String { "recording-\(given?.username ?? "-")" }
        var requests: [UpstreamCredentialsRequest] { asked.withLock { $0 } }
        func credentials(for request: UpstreamCredentialsRequest) async throws -> UpstreamCredentials? {
            asked.withLock { $0.append(request) }
            if let failure { throw failure }
            return given
        }
    }

    /// Runs `body` with the fake on 127.0.0.1 (realm: its own `/token`), blobs redirected to its CDN
    /// on 127.0.0.2, and a client without shared credentials.
    func withFake(
        _ fake: FakeRegistry, _ body: @Sendable (RegistryClient, _ base: String, _ cdn: String) async throws -> Void
    ) async throws {
        try await withLiveServer(fake.cdnRouter(), host: "127.0.0.2") { cdnPort in
            let cdn = "http://127.0.0.2:\(cdnPort)"
            fake.setOptions { $0.blobRedirect = cdn }
            let port = PortBox()
            try await withLiveServer(fake.router(realm: { "http://127.0.0.1:\(port.value)/token" })) { p in
                port.value = p
                let c = RegistryClient(
                    configuration: UpstreamConfiguration(
                        name: UpstreamName("fake")!, url: "http://127.0.0.1:\(p)", connectTimeout: 2, firstByteTimeout: 5, idleTimeout: 2),
                    logger: Logger(label: "test"))
                try await closing(c) { try await body($0, "http://127.0.0.1:\(p)", cdn) }
            }
        }
    }

    @Test func bearerCredentialsGoToThePinnedRealmOnly() async throws {
        let fake = FakeRegistry()
        fake.setOptions { $0.bearer = true }
        let blob = fake.addBlob(Array(repeating: 8, count: 3000))
        let provider = RecordingProvider(.init(username: "erin-at-up", password: "erin-pw"))
        let erin = UpstreamIdentity.user(UserName("erin")!, provider)
        try await withFake(fake) { c, base, _ in
            for _ in 0..<2 {
                let r = try await c.blob(repo, blob, method: .GET, as: erin)
                #expect(r.status == 200)
                #expect(try await r.collect(upTo: 1 << 20).readableBytes == 3000)
            }
            // Asked once, for the token request (the token is cached for the second GET).
            #expect(
                provider.requests == [
                    UpstreamCredentialsRequest(
                        upstream: "fake", scope: "repository:org/app:pull", recipient: .tokenRealm("\(base)/token"))
                ])
            #expect(fake.log.contains { $0.hasPrefix("GET /token?") && $0.contains("account=erin-at-up") })
            #expect(fake.log.filter { $0.hasPrefix("CDN GET") }.count == 2)
            #expect(fake.log.filter { $0.hasPrefix("CDN GET") }.allSatisfy { $0.hasSuffix("auth=none") })
        }
    }

    @Test func aRedirectTargetsChallengeNeverReachesTheProvider() async throws {
        let fake = FakeRegistry()
        fake.setOptions { $0.bearer = true }
        let blob = fake.addBlob(Array(repeating: 3, count: 3000))
        let provider = RecordingProvider(.init(username: "ivy-at-up", password: "ivy-pw"))
        try await withFake(fake) { c, base, cdn in
            fake.setOptions { $0.cdnChallenge = #"Bearer realm="\#(cdn)/steal",service="evil""# }
            await #expect {
                _ = try await c.blob(repo, blob, method: .GET, as: .user(UserName("ivy")!, provider))
            } throws: { error in
                (error as? UpstreamError)?.kind == .protocolError
            }
            #expect(provider.requests.map(\.recipient) == [.tokenRealm("\(base)/token")])
            #expect(!fake.log.contains { $0.hasPrefix("STEAL") })
            #expect(fake.log.filter { $0.hasPrefix("CDN GET") }.allSatisfy { $0.hasSuffix("auth=none") })
        }
    }

    @Test func basicCredentialsGoToTheOriginOnly() async throws {
        let fake = FakeRegistry()
        fake.setOptions { $0.basic = ("u", "p") }
        let blob = fake.addBlob(Array(repeating: 9, count: 3000))
        fake.addImage(repo: "org/app", tag: "v1", layers: [blob])
        let provider = RecordingProvider(.init(username: "u", password: "p"))
        let frank = UpstreamIdentity.user(UserName("frank")!, provider)
        try await withFake(fake) { c, base, _ in
            let m = try await c.manifest(repo, .tag(try Tag(parsing: "v1")), accept: MediaType.dockerManifest, method: .GET, as: frank)
            #expect(m.status == 200)
            await m.discard()
            let b = try await c.blob(repo, blob, method: .GET, as: frank)
            #expect(b.status == 200)
            await b.discard()
            #expect(!provider.requests.isEmpty)
            #expect(provider.requests.allSatisfy { $0.recipient == .origin(base) && $0.upstream == "fake" })
            #expect(fake.log.filter { $0.hasPrefix("CDN GET") }.allSatisfy { $0.hasSuffix("auth=none") })
        }
    }

    @Test func aProviderWithoutCredentialsGoesAnonymously() async throws {
        let fake = FakeRegistry()
        fake.setOptions { $0.bearer = true }
        let blob = fake.addBlob(Array(repeating: 1, count: 100))
        let provider = RecordingProvider(nil)
        try await withFake(fake) { c, _, _ in
            let r = try await c.blob(repo, blob, method: .HEAD, as: .user(UserName("gina")!, provider))
            #expect(r.status == 200)
            #expect(provider.requests.count == 1)
            #expect(fake.log.contains { $0.hasPrefix("GET /token?") && !$0.contains("account=") })
        }
    }

    @Test func aProvidersFailureIsTheRequestsFailure() async throws {
        let fake = FakeRegistry()
        fake.setOptions { $0.bearer = true }
        let blob = fake.addBlob(Array(repeating: 2, count: 100))
        let provider = RecordingProvider(nil, failing: UpstreamError(.credentialsRejected, upstream: "fake", "helper refused"))
        try await withFake(fake) { c, _, _ in
            await #expect {
                _ = try await c.blob(repo, blob, method: .HEAD, as: .user(UserName("hank")!, provider))
            } throws: { error in
                (error as? UpstreamError)?.kind == .credentialsRejected
            }
            #expect(!fake.log.contains { $0.hasPrefix("GET /token?") })
        }
    }

    /// An identity's key is its owner and its provider's fingerprint; static credentials keep the
    /// fingerprint they always had (a hash of username and password, never the secret).
    @Test func identityKeysNameOwnerAndFingerprint() {
        let creds = StaticCredentials(username: "a", password: "pa")
        let hash = String(Digest.sha256(of: Array("a\u{0}pa".utf8)).hex.prefix(16))
        #expect(creds.fingerprint == hash)
        #expect(UpstreamIdentity.user(UserName("alice")!, creds).key == "user:alice#" + hash)
        #expect(UpstreamIdentity.shared(creds).key == "shared#" + hash)
        #expect(UpstreamIdentity.shared(nil).key == "shared#-")
        #expect(UpstreamIdentity.user(UserName("alice")!, creds) != UpstreamIdentity.user(UserName("bob")!, creds))
        #expect(UpstreamIdentity.user(UserName("alice")!, creds) != UpstreamIdentity.user(UserName("alice")!, StaticCredentials(username: "a", password: "pb")))
        #expect(UpstreamIdentity.user(UserName("alice")!, creds) == UpstreamIdentity.user(UserName("alice")!, StaticCredentials(username: "a", password: "pa")))
        let secret = UpstreamCredentials(username: "a", password: "s3cr3t")
        #expect(!"\(secret)".contains("s3cr3t") && !"\(StaticCredentials(secret))".contains("s3cr3t"))
    }
}
