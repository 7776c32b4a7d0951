import Foundation
import Logging
import NIOCore
import RegistryCore
import Synchronization
import Testing
import TollgateTestSupport

@testable import TollgateUpstream

/// Credentials go only to the upstream's own origin and to the token realm it announced; a
/// redirect target (another host, here 127.0.0.2) never gets them, never teaches a realm.
struct CredentialScopeTests {
    let repo = try! RepositoryName(parsing: "org/app")
    let opCredentials = StaticCredentials(username: "u", password: "p")
    let alice = UpstreamIdentity.user(UserName("alice")!, StaticCredentials(username: "alice-at-up", password: "alice-pw"))

    func client(_ port: Int) -> RegistryClient {
        RegistryClient(
            configuration: UpstreamConfiguration(
                name: UpstreamName("fake")!, url: "http://127.0.0.1:\(port)", credentials: opCredentials, connectTimeout: 2,
                firstByteTimeout: 5, idleTimeout: 2),
            logger: Logger(label: "test"))
    }

    /// Runs `body` with the fake on 127.0.0.1 (realm: its own `/token`, or `realm.value` once set)
    /// and its CDN on 127.0.0.2; the client is shut down however `body` ends.
    func withFake(
        _ fake: FakeRegistry, realm: RealmBox = RealmBox(), _ body: @Sendable (RegistryClient, _ cdn: String) async throws -> Void
    ) async throws {
        try await withLiveServer(fake.cdnRouter(), host: "127.0.0.2") { cdnPort in
            let cdn = "http://127.0.0.2:\(cdnPort)"
            try await withLiveServer(fake.router(realm: { realm.current })) { p in
                realm.setDefault("http://127.0.0.1:\(p)/token")
                try await closing(client(p)) { try await body($0, cdn) }
            }
        }
    }

    static func isProtocolError(_ error: any Error) -> Bool { (error as? UpstreamError)?.kind == .protocolError }

    @Test func redirectTargetAskingForCredentialsIsAnErrorAndGetsNone() async throws {
        let fake = FakeRegistry()
        fake.setOptions { $0.basic = ("u", "p") }
        let blob = fake.addBlob(Array(repeating: 3, count: 2000))
        fake.addImage(repo: "org/app", tag: "v1", layers: [blob])
        try await withFake(fake) { c, cdn in
            fake.setOptions {
                $0.blobRedirect = cdn
                $0.redirectAll = true
                $0.cdnChallenge = #"Basic realm="cdn""#
            }
            // A user whose own credentials the registry (Basic u:p) accepts, and the operator's.
            let own = UpstreamIdentity.user(UserName("alice")!, opCredentials)
            for identity in [c.shared, own] {
                await #expect(performing: { _ = try await c.blob(repo, blob, method: .GET, as: identity) }, throws: Self.isProtocolError)
                await #expect(
                    performing: {
                        _ = try await c.manifest(repo, .tag(try Tag(parsing: "v1")), accept: MediaType.dockerManifest, method: .GET, as: identity)
                    }, throws: Self.isProtocolError)
                await #expect(performing: { _ = try await c.tags(repo, query: nil, as: identity) }, throws: Self.isProtocolError)
            }
            let cdnRequests = fake.log.filter { $0.hasPrefix("CDN GET") }
            #expect(cdnRequests.count == 6)  // each asked once, never again with credentials
            #expect(cdnRequests.allSatisfy { $0.hasSuffix("auth=none") })
            // The registry itself still gets Basic credentials (its own origin).
            fake.setOptions { $0.blobRedirect = nil }
            let r = try await c.blob(repo, blob, method: .GET)
            #expect(r.status == 200)
            await r.discard()
        }
    }

    @Test func bearerChallengeOfARedirectTargetIsNeverLearned() async throws {
        let fake = FakeRegistry()
        fake.setOptions { $0.bearer = true }
        let blob = fake.addBlob(Array(repeating: 4, count: 2000))
        fake.addImage(repo: "org/app", tag: "v1", layers: [blob])
        try await withFake(fake) { c, cdn in
            fake.setOptions {
                $0.blobRedirect = cdn
                $0.cdnChallenge = #"Bearer realm="\#(cdn)/steal",service="evil""#
            }
            // The operator's identity pulls a blob whose redirect target asks for a token.
            await #expect(performing: { _ = try await c.blob(repo, blob, method: .GET) }, throws: Self.isProtocolError)
            // Later, another identity (no token yet) pulls: its credentials go to the upstream's
            // own realm, never to the one the redirect target named.
            let m = try await c.manifest(repo, .tag(try Tag(parsing: "v1")), accept: MediaType.dockerManifest, method: .GET, as: alice)
            #expect(m.status == 200)
            await m.discard()
            #expect(!fake.log.contains { $0.hasPrefix("STEAL") })
            #expect(fake.log.contains { $0.hasPrefix("GET /token?") && $0.contains("account=alice-at-up") })
            #expect(fake.log.filter { $0.hasPrefix("CDN GET") }.allSatisfy { $0.hasSuffix("auth=none") })
        }
    }

    @Test func tokenRealmIsPinnedOnceLearned() async throws {
        let fake = FakeRegistry()
        fake.setOptions { $0.bearer = true }
        let blob = fake.addBlob(Array(repeating: 5, count: 100))
        let realm = RealmBox()
        try await withFake(fake, realm: realm) { c, cdn in
            let first = try await c.blob(repo, blob, method: .HEAD)
            #expect(first.status == 200)
            // The upstream itself now announces another realm (on another host), and refuses the
            // tokens out: the next request meets a 401 naming that realm.
            realm.set("\(cdn)/steal")
            fake.setOptions { $0.tokenEpoch = 1 }
            for identity in [c.shared, alice] {
                let r = try await c.blob(repo, blob, method: .HEAD, as: identity)
                #expect(r.status == 200)
            }
            #expect(!fake.log.contains { $0.hasPrefix("STEAL") })
            #expect(fake.tokensIssued == 3)
        }
    }

    @Test func tokenRealmRedirectIsNotFollowed() async throws {
        let fake = FakeRegistry()
        fake.setOptions { $0.bearer = true }
        let blob = fake.addBlob(Array(repeating: 6, count: 100))
        try await withFake(fake) { c, cdn in
            fake.setOptions { $0.tokenRedirect = "\(cdn)/steal" }
            for identity in [c.shared, alice] {
                await #expect(performing: { _ = try await c.blob(repo, blob, method: .GET, as: identity) }, throws: Self.isProtocolError)
            }
            #expect(fake.log.contains { $0.hasPrefix("GET /token?") })
            #expect(!fake.log.contains { $0.hasPrefix("STEAL") })
        }
    }

    @Test func originComparesSchemeHostAndPort() {
        #expect(Origin("http://Example.test/v2/") == Origin("http://example.test:80/x"))
        #expect(Origin("https://example.test") == Origin("https://example.test:443"))
        #expect(Origin("https://example.test") != Origin("http://example.test"))
        #expect(Origin("http://127.0.0.1:5000") != Origin("http://localhost:5000"))
        #expect(Origin("http://127.0.0.1:5000") != Origin("http://127.0.0.1:5001"))
        #expect(Origin("ftp://example.test") == nil)
    }
}

/// The realm a fake announces: its own `/token` until `set` names another.
final class RealmBox: Sendable {
    private let value = Mutex<(default: String, override: String?)>(("", nil))
    var current: String { value.withLock { $0.override ?? $0.default } }
    func setDefault(_ s: String) { value.withLock { $0.default = s } }
    func set(_ s: String) { value.withLock { $0.override = s } }
}

/// The client tells whether an upstream accepted a user's own credentials (the console shows it).
struct UserLoginResultTests {
    @Test func basicCredentialsAcceptedOrRefusedAreReported() async throws {
        let fake = FakeRegistry()
        fake.setOptions { $0.basic = ("u", "p") }
        let blob = fake.addBlob(Array(repeating: 5, count: 100))
        fake.addImage(repo: "org/app", tag: "v1", layers: [blob])
        let seen = Mutex<[String]>([])
        try await withLiveServer(fake.router(realm: { "http://127.0.0.1:1/token" })) { port in
            let c = RegistryClient(
                configuration: UpstreamConfiguration(
                    name: UpstreamName("fake")!, url: "http://127.0.0.1:\(port)", credentials: nil, connectTimeout: 2,
                    firstByteTimeout: 5, idleTimeout: 2),
                logger: Logger(label: "test"))
            try await closing(c) { c in
                c.observeUserLogins { user, accepted in seen.withLock { $0.append("\(user) \(accepted)") } }
                let repo = try RepositoryName(parsing: "org/app")
                let good = UpstreamIdentity.user(UserName("alice")!, StaticCredentials(username: "u", password: "p"))
                let bad = UpstreamIdentity.user(UserName("bob")!, StaticCredentials(username: "u", password: "wrong"))
                let r1 = try await c.blob(repo, blob, method: .GET, as: good)
                #expect(r1.status == 200)
                await r1.discard()
                let r2 = try await c.blob(repo, blob, method: .GET, as: bad)
                #expect(r2.status == 401)
                await r2.discard()
                let r3 = try await c.blob(repo, blob, method: .GET)  // shared (no credentials): nothing to report
                await r3.discard()
            }
        }
        #expect(seen.withLock { $0 } == ["alice true", "bob false"])
    }
}

struct UpstreamHealthTests {
    final class Clock: @unchecked Sendable {
        var t = Date(timeIntervalSince1970: 1_800_000_000)
    }

    @Test func theLastHourOfAnswersFailuresAndHeadroom() {
        let clock = Clock()
        let h = UpstreamHealth(now: { clock.t })
        #expect(h.report().requests == 0 && h.report().errorRate == nil && h.report().meanLatency == nil)
        h.responded(status: 200, latency: .milliseconds(10))
        h.responded(status: 404, latency: .milliseconds(30))
        h.responded(status: 503, latency: .milliseconds(20))
        clock.t += 30
        h.failed("timed out")
        h.noteRateLimit(remaining: "76;w=21600", limit: "100;w=21600")
        h.noteRateLimit(remaining: nil, limit: "100")  // nothing said: the last stands
        var r = h.report()
        #expect(r.requests == 4 && r.failures == 2 && r.errorRate == 0.5)
        #expect(r.meanLatency == .milliseconds(20) && r.maxLatency == .milliseconds(30))
        #expect(r.lastSuccess == Date(timeIntervalSince1970: 1_800_000_000))
        #expect(r.lastFailure?.what == "timed out" && r.rateLimit?.remaining == 76 && r.rateLimit?.limit == 100)
        // an hour later the counts are gone; the last success and failure stay
        clock.t += 3600
        h.responded(status: 200, latency: .milliseconds(5))
        r = h.report()
        #expect(r.requests == 1 && r.failures == 0 && r.maxLatency == .milliseconds(5))
        #expect(r.lastFailure?.what == "timed out")
    }
}
