import Foundation
import NIOCore
import RegistryCore
import Testing
import TollgateTestSupport

@testable import TollgateProxy

/// The OCI 1.1 referrers API through the cache: passed upstream, kept per audience for the
/// manifest TTL, served stale on upstream failure, 404 when the upstream has no such API.
struct ReferrersTests {
    let repo = try! RepositoryName(parsing: "org/app")
    static let sig = "application/vnd.dev.cosign.artifact.sig.v1+json"
    static let sbom = "application/spdx+json"

    func fake() -> (FakeRegistry, Digest, [Digest]) {
        let fake = FakeRegistry()
        let subject = fake.addImage(repo: "org/app", tag: "v1", layers: [], mediaType: MediaType.ociManifest)
        let refs = [
            fake.addReferrer(repo: "org/app", subject: subject, artifactType: Self.sig),
            fake.addReferrer(repo: "org/app", subject: subject, artifactType: Self.sbom),
            fake.addReferrer(repo: "org/app", subject: subject, artifactType: Self.sig),
        ]
        fake.setOptions { $0.referrersPageSize = 10 }
        return (fake, subject, refs)
    }

    static func digests(_ r: ReferrersResult) throws -> [String] {
        struct Index: Decodable { var manifests: [D] }
        struct D: Decodable { var digest: String }
        return try JSONDecoder().decode(Index.self, from: Data(r.body.readableBytesView)).manifests.map(\.digest)
    }

    @Test func listFilterAndCacheWithinTTL() async throws {
        let (fake, subject, refs) = fake()
        try await Harness.with(fake, ttl: .seconds(60)) { h in
            let all = try await h.cache.referrers(from: h.upstream, repo, subject: subject, query: .none)
            #expect(all.outcome == .miss)
            #expect(all.contentType == MediaType.ociIndex)
            #expect(try Self.digests(all) == refs.map(\.description))
            #expect(all.filtersApplied == nil && all.next == nil)

            let filter = try ReferrersQuery([("artifactType", Self.sig)])
            let sigs = try await h.cache.referrers(from: h.upstream, repo, subject: subject, query: filter)
            #expect(try Self.digests(sigs) == [refs[0], refs[2]].map(\.description))
            #expect(sigs.filtersApplied == "artifactType")

            fake.clearLog()
            let again = try await h.cache.referrers(from: h.upstream, repo, subject: subject, query: filter)
            #expect(again.outcome == .hit)
            #expect(fake.count("GET /v2/org/app/referrers") == 0)
            h.now.advance(61)
            #expect(try await h.cache.referrers(from: h.upstream, repo, subject: subject, query: filter).outcome == .miss)
            #expect(fake.count("GET /v2/org/app/referrers") == 1)
        }
    }

    @Test func pagesFollowTheUpstreamsLinkOnTheSameUpstream() async throws {
        let (fake, subject, refs) = fake()
        fake.setOptions { $0.referrersPageSize = 2 }
        try await Harness.with(fake) { h in
            let first = try await h.cache.referrers(from: h.upstream, repo, subject: subject, query: .none)
            #expect(try Self.digests(first) == refs.prefix(2).map(\.description))
            // Only the query of the upstream's (absolute, foreign-host) link is kept.
            let next = try #require(first.next)
            #expect(next.encoded == "page=2")
            let second = try await h.cache.referrers(from: h.upstream, repo, subject: subject, query: next)
            #expect(try Self.digests(second) == [refs[2].description])
            #expect(second.next == nil)
        }
    }

    @Test func staleWhenUpstreamFailsAnd404WithoutTheAPI() async throws {
        let (fake, subject, _) = fake()
        try await Harness.with(fake, ttl: .seconds(1)) { h in
            let fresh = try await h.cache.referrers(from: h.upstream, repo, subject: subject, query: .none)
            h.now.advance(5)
            fake.setOptions { $0.failStatus = 503 }
            let stale = try await h.cache.referrers(from: h.upstream, repo, subject: subject, query: .none)
            #expect(stale.outcome == .stale)
            #expect(stale.body == fresh.body)
            // Nothing cached for another filter: the upstream's failure.
            await #expect(throws: RegistryError.self) {
                _ = try await h.cache.referrers(
                    from: h.upstream, repo, subject: subject, query: try ReferrersQuery([("artifactType", Self.sig)]))
            }
            fake.setOptions { $0.failStatus = nil; $0.referrersPageSize = nil }
            h.now.advance(5)
            do {
                _ = try await h.cache.referrers(from: h.upstream, repo, subject: subject, query: .none)
                Issue.record("expected 404")
            } catch let e as RegistryError {
                #expect(e.code == .manifestUnknown)
            }
        }
    }

    @Test func listedArtifactsPullThroughByDigestIntact() async throws {
        let (fake, subject, refs) = fake()
        try await Harness.with(fake) { h in
            _ = try await h.cache.referrers(from: h.upstream, repo, subject: subject, query: .none)
            let m = try await h.cache.manifest(from: h.upstream, repo, .digest(refs[1]), accept: AcceptList(headerValues: []))
            #expect(m.digest == refs[1])
            #expect(m.mediaType == MediaType.ociManifest)
            #expect(String(buffer: m.bytes).contains(#""artifactType":"\#(Self.sbom)""#))
        }
    }

    @Test func aListLargerThanAManifestIsABadGateway() async throws {
        let (fake, subject, _) = fake()
        for _ in 0..<25_000 { fake.addReferrer(repo: "org/app", subject: subject, artifactType: Self.sbom) }
        fake.setOptions { $0.referrersPageSize = 100_000 }
        try await Harness.with(fake) { h in
            do {
                _ = try await h.cache.referrers(from: h.upstream, repo, subject: subject, query: .none)
                Issue.record("expected a 502")
            } catch let e as RegistryError {
                #expect(e.code == .badGateway)
                #expect(e.message.contains("larger than"))
            }
        }
    }

    @Test func whatIsNotAnIndexIsABadGateway() {
        #expect(UpstreamReferrers.isIndex(Data(#"{"schemaVersion":2,"manifests":[]}"#.utf8)))
        #expect(!UpstreamReferrers.isIndex(Data(#"{"schemaVersion":2}"#.utf8)))
        #expect(!UpstreamReferrers.isIndex(Data(#"{"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"nope","size":1}]}"#.utf8)))
        #expect(!UpstreamReferrers.isIndex(Data(#"{"schemaVersion":2,"mediaType":"text/html","manifests":[]}"#.utf8)))
        #expect(PullThroughCache.filterList("artifactType") == "artifactType")
        #expect(PullThroughCache.filterList("artifactType\r\nX: y") == nil)
    }
}
