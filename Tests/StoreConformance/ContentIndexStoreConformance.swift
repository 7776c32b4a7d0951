import Foundation
import RegistryCore
import Testing
import TollgateProxy

/// The contract of `ContentIndexStore`, for every adapter.
public struct ContentIndexStoreConformance<Store: ContentIndexStore>: ConformanceSuite {
    let engine: Engine<Store>

    public init(_ engine: Engine<Store>) { self.engine = engine }

    public var checks: [Check] {
        [
            ("tagsRoundTripReplaceAndDelete", tagsRoundTripReplaceAndDelete),
            ("manifestsRoundTripAndReplace", manifestsRoundTripAndReplace),
            ("linksRoundTripReplaceAndHasLink", linksRoundTripReplaceAndHasLink),
            ("audiencesAreKeptApart", audiencesAreKeptApart),
            ("repositoriesAreDistinctAndSorted", repositoriesAreDistinctAndSorted),
            ("referrersPagesPerQueryAndAudience", referrersPagesPerQueryAndAudience),
            ("referrersUnrefreshedForAWeekGo", referrersUnrefreshedForAWeekGo),
            ("survivesARestart", survivesARestart),
            ("twoConcurrentWriters", twoConcurrentWriters),
            ("tagRecordsListEveryAudience", tagRecordsListEveryAudience),
            ("evictingATagTakesItsTagsAndTheNamedLinks", evictingATagTakesItsTagsAndTheNamedLinks),
            ("evictingARepositoryOrUpstreamTakesAllOfIt", evictingARepositoryOrUpstreamTakesAllOfIt),
        ]
    }

    func tagRecordsListEveryAudience() async throws {
        let m = try await engine.open().store
        #expect(try await m.tagRecords(upstream: "docker.io", repository: "a/b").isEmpty)
        let alice = Audience.user(name("alice"))
        try await m.putTag(TagRecord(upstream: "docker.io", repository: "a/b", tag: "2", digest: testDigest(2), fetchedAt: 2))
        try await m.putTag(TagRecord(upstream: "docker.io", repository: "a/b", tag: "1", digest: testDigest(1), fetchedAt: 1, audience: alice))
        try await m.putTag(TagRecord(upstream: "docker.io", repository: "a/b", tag: "1", digest: testDigest(3), fetchedAt: 3))
        try await m.putTag(TagRecord(upstream: "docker.io", repository: "a/c", tag: "1", digest: testDigest(4), fetchedAt: 4))
        try await m.putTag(TagRecord(upstream: "ghcr.io", repository: "a/b", tag: "1", digest: testDigest(5), fetchedAt: 5))
        let records = try await m.tagRecords(upstream: "docker.io", repository: "a/b")
        #expect(records.map { "\($0.tag) \($0.audience.key) \($0.fetchedAt)" } == ["1 shared 3.0", "1 user:alice 1.0", "2 shared 2.0"])
        #expect(records[0].digest == testDigest(3))
    }

    /// Links `digest` in (upstream, repository) for the shared audience and alice's.
    private func link(_ m: Store, _ upstream: String, _ repository: String, _ n: Int) async throws {
        for audience in [Audience.shared, .user(name("alice"))] {
            try await m.putLink(LinkRecord(upstream: upstream, repository: repository, digest: testDigest(n), size: 1, audience: audience))
        }
    }

    func evictingATagTakesItsTagsAndTheNamedLinks() async throws {
        let m = try await engine.open().store
        let alice = Audience.user(name("alice"))
        for audience in [Audience.shared, alice] {
            try await m.putTag(TagRecord(upstream: "docker.io", repository: "a/b", tag: "1", digest: testDigest(1), fetchedAt: 1, audience: audience))
        }
        try await m.putTag(TagRecord(upstream: "docker.io", repository: "a/b", tag: "2", digest: testDigest(2), fetchedAt: 1))
        try await m.putTag(TagRecord(upstream: "docker.io", repository: "a/c", tag: "1", digest: testDigest(1), fetchedAt: 1))
        for n in [1, 2, 3] { try await link(m, "docker.io", "a/b", n) }
        try await link(m, "docker.io", "a/c", 1)
        try await m.putReferrers(referrers(subject: testDigest(1), repository: "a/b"))
        try await m.putReferrers(referrers(subject: testDigest(2), repository: "a/b"))
        let scope = CacheScope(upstream: "docker.io", repository: try RepositoryName(parsing: "a/b"), tag: try Tag(parsing: "1"))
        let removed = try await m.evict(scope, tagLinks: [testDigest(1), testDigest(9)])
        #expect(removed.tags == 2)
        #expect(removed.unlinked == [testDigest(1)])
        #expect(try await m.tagRecords(upstream: "docker.io", repository: "a/b").map(\.tag) == ["2"])
        #expect(try await m.tag(upstream: "docker.io", repository: "a/c", tag: "1", audience: .shared) != nil)
        for audience in [Audience.shared, alice] {
            #expect(try await m.link(upstream: "docker.io", repository: "a/b", digest: testDigest(1), audience: audience) == nil)
            #expect(try await m.link(upstream: "docker.io", repository: "a/b", digest: testDigest(3), audience: audience) != nil)
        }
        // Still linked from the other repository.
        #expect(try await m.isLinked(testDigest(1)))
        #expect(try await !m.isLinked(testDigest(9)))
        #expect(try await m.referrers(upstream: "docker.io", repository: "a/b", subject: testDigest(1), query: "", audience: .shared) == nil)
        #expect(try await m.referrers(upstream: "docker.io", repository: "a/b", subject: testDigest(2), query: "", audience: .shared) != nil)
        // Again: nothing left to remove.
        let again = try await m.evict(scope, tagLinks: [testDigest(1)])
        #expect(again.tags == 0 && again.unlinked.isEmpty)
    }

    func evictingARepositoryOrUpstreamTakesAllOfIt() async throws {
        let m = try await engine.open().store
        try await m.putTag(TagRecord(upstream: "docker.io", repository: "a/b", tag: "1", digest: testDigest(1), fetchedAt: 1))
        try await m.putTag(TagRecord(upstream: "docker.io", repository: "a/bc", tag: "1", digest: testDigest(2), fetchedAt: 1))
        try await m.putTag(TagRecord(upstream: "ghcr.io", repository: "a/b", tag: "1", digest: testDigest(3), fetchedAt: 1))
        try await link(m, "docker.io", "a/b", 1)
        try await link(m, "docker.io", "a/b", 4)
        try await link(m, "docker.io", "a/bc", 2)
        try await link(m, "ghcr.io", "a/b", 3)
        try await link(m, "ghcr.io", "a/b", 4)
        try await m.putReferrers(referrers(subject: testDigest(1), repository: "a/b"))
        let repository = CacheScope(upstream: "docker.io", repository: try RepositoryName(parsing: "a/b"))
        let removed = try await m.evict(repository, tagLinks: [])
        #expect(removed.tags == 1 && removed.unlinked == [testDigest(1), testDigest(4)])
        #expect(try await m.tagRecords(upstream: "docker.io", repository: "a/b").isEmpty)
        #expect(try await m.tagRecords(upstream: "docker.io", repository: "a/bc").count == 1)
        #expect(try await !m.isLinked(testDigest(1)))
        #expect(try await m.isLinked(testDigest(4)))  // ghcr.io's
        #expect(try await !m.hasLink(upstream: "docker.io", digest: testDigest(4)))
        #expect(try await m.referrers(upstream: "docker.io", repository: "a/b", subject: testDigest(1), query: "", audience: .shared) == nil)
        #expect(try await m.repositories(audiences: [.shared]).map { "\($0.upstream)/\($0.repository)" } == ["docker.io/a/bc", "ghcr.io/a/b"])
        let upstream = try await m.evict(CacheScope(upstream: "ghcr.io"), tagLinks: [])
        #expect(upstream.tags == 1 && upstream.unlinked == [testDigest(3), testDigest(4)])
        #expect(try await m.repositories(audiences: [.shared, .user(name("alice"))]).map(\.upstream) == ["docker.io"])
    }

    private func referrers(subject: Digest, repository: String) -> ReferrersRecord {
        ReferrersRecord(
            upstream: "docker.io", repository: repository, subject: subject, query: "", audience: .shared,
            contentType: "application/vnd.oci.image.index.v1+json", filtersApplied: nil, nextQuery: nil, body: Array("{}".utf8),
            fetchedAt: Date().timeIntervalSince1970)
    }

    func tagsRoundTripReplaceAndDelete() async throws {
        let m = try await engine.open().store
        let (d1, d2) = (testDigest(1), testDigest(2))
        #expect(try await m.tag(upstream: "docker.io", repository: "library/a", tag: "1", audience: .shared) == nil)
        #expect(try await m.tags(upstream: "docker.io", repository: "library/a", audiences: [.shared]).isEmpty)
        try await m.putTag(TagRecord(upstream: "docker.io", repository: "library/a", tag: "1", digest: d1, fetchedAt: 5))
        try await m.putTag(TagRecord(upstream: "docker.io", repository: "library/a", tag: "0", digest: d1, fetchedAt: 6))
        #expect(
            try await m.tag(upstream: "docker.io", repository: "library/a", tag: "1", audience: .shared)
                == TagRecord(upstream: "docker.io", repository: "library/a", tag: "1", digest: d1, fetchedAt: 5))
        #expect(try await m.tag(upstream: "ghcr.io", repository: "library/a", tag: "1", audience: .shared) == nil)
        #expect(try await m.tags(upstream: "docker.io", repository: "library/a", audiences: [.shared]) == ["0", "1"])
        // Putting a tag again replaces it.
        try await m.putTag(TagRecord(upstream: "docker.io", repository: "library/a", tag: "1", digest: d2, fetchedAt: 7))
        let replaced = try await m.tag(upstream: "docker.io", repository: "library/a", tag: "1", audience: .shared)
        #expect(replaced?.digest == d2)
        #expect(replaced?.fetchedAt == 7)
        // Names sorted bytewise, each once.
        for tag in ["a", "B", "10", "9"] {
            try await m.putTag(TagRecord(upstream: "docker.io", repository: "library/a", tag: tag, digest: d1, fetchedAt: 1))
        }
        #expect(
            try await m.tags(upstream: "docker.io", repository: "library/a", audiences: [.shared])
                == ["0", "1", "10", "9", "B", "a"])
        #expect(try await m.tags(upstream: "docker.io", repository: "library/a", audiences: []).isEmpty)
        try await m.deleteTag(upstream: "docker.io", repository: "library/a", tag: "1", audience: .shared)
        #expect(try await m.tag(upstream: "docker.io", repository: "library/a", tag: "1", audience: .shared) == nil)
        // Deleting what isn't there is no error.
        try await m.deleteTag(upstream: "docker.io", repository: "library/a", tag: "1", audience: .shared)
        #expect(try await m.tags(upstream: "docker.io", repository: "library/a", audiences: [.shared]).count == 5)
    }

    func manifestsRoundTripAndReplace() async throws {
        let m = try await engine.open().store
        let d = testDigest(1)
        #expect(try await m.manifest(d) == nil)
        try await m.putManifest(ManifestRecord(digest: d, mediaType: "x/y", size: 1))
        #expect(try await m.manifest(d) == ManifestRecord(digest: d, mediaType: "x/y", size: 1))
        try await m.putManifest(ManifestRecord(digest: d, mediaType: "a/b", size: 2))
        #expect(try await m.manifest(d) == ManifestRecord(digest: d, mediaType: "a/b", size: 2))
        #expect(try await m.manifest(testDigest(2)) == nil)
    }

    func linksRoundTripReplaceAndHasLink() async throws {
        let m = try await engine.open().store
        let d = testDigest(1)
        #expect(try await m.link(upstream: "docker.io", repository: "library/a", digest: d, audience: .shared) == nil)
        #expect(try await !m.hasLink(upstream: "docker.io", digest: d))
        try await m.putLink(LinkRecord(upstream: "docker.io", repository: "library/a", digest: d, size: 1))
        try await m.putLink(LinkRecord(upstream: "ghcr.io", repository: "library/a", digest: d, size: 1))
        #expect(
            try await m.link(upstream: "docker.io", repository: "library/a", digest: d, audience: .shared)
                == LinkRecord(upstream: "docker.io", repository: "library/a", digest: d, size: 1))
        #expect(try await m.link(upstream: "docker.io", repository: "library/b", digest: d, audience: .shared) == nil)
        // Putting a link again replaces its size.
        try await m.putLink(LinkRecord(upstream: "docker.io", repository: "library/a", digest: d, size: 3))
        #expect(try await m.link(upstream: "docker.io", repository: "library/a", digest: d, audience: .shared)?.size == 3)
        // Which upstreams the bytes of a digest are known to have come from (any repository, any audience).
        #expect(try await m.hasLink(upstream: "ghcr.io", digest: d))
        #expect(try await !m.hasLink(upstream: "quay.io", digest: d))
        #expect(try await !m.hasLink(upstream: "docker.io", digest: testDigest(2)))
        try await m.putLink(LinkRecord(upstream: "quay.io", repository: "p/x", digest: d, size: 1, audience: .user(name("alice"))))
        #expect(try await m.hasLink(upstream: "quay.io", digest: d))
    }

    func audiencesAreKeptApart() async throws {
        let m = try await engine.open().store
        let d = testDigest(1)
        try await m.putLink(LinkRecord(upstream: "docker.io", repository: "library/a", digest: d, size: 1))
        try await m.putLink(LinkRecord(upstream: "ghcr.io", repository: "library/a", digest: d, size: 1))
        try await m.putTag(TagRecord(upstream: "docker.io", repository: "library/a", tag: "1", digest: d, fetchedAt: 5))
        // A user's own content is kept apart: visible to that audience only.
        try await m.putLink(
            LinkRecord(upstream: "docker.io", repository: "private/x", digest: d, size: 1, audience: .user(name("alice"))))
        try await m.putTag(
            TagRecord(upstream: "docker.io", repository: "private/x", tag: "v", digest: d, fetchedAt: 1, audience: .user(name("alice"))))
        try await m.putTag(
            TagRecord(upstream: "docker.io", repository: "library/a", tag: "mine", digest: d, fetchedAt: 1, audience: .user(name("alice"))))
        #expect(try await m.link(upstream: "docker.io", repository: "private/x", digest: d, audience: .shared) == nil)
        #expect(try await m.link(upstream: "docker.io", repository: "private/x", digest: d, audience: .user(name("alice"))) != nil)
        #expect(try await m.link(upstream: "docker.io", repository: "private/x", digest: d, audience: .user(name("bob"))) == nil)
        #expect(try await m.tag(upstream: "docker.io", repository: "private/x", tag: "v", audience: .user(name("bob"))) == nil)
        #expect(
            try await m.tag(upstream: "docker.io", repository: "private/x", tag: "v", audience: .user(name("alice")))?.audience
                == .user(name("alice")))
        #expect(try await m.tags(upstream: "docker.io", repository: "private/x", audiences: [.shared]).isEmpty)
        #expect(
            try await m.tags(upstream: "docker.io", repository: "library/a", audiences: [.shared, .user(name("alice"))])
                == ["1", "mine"])
        #expect(try await m.repositories(audiences: [.shared]).count == 2)
        #expect(try await m.repositories(audiences: [.shared, .user(name("alice"))]).count == 3)
        #expect(try await m.repositories(audiences: [.user(name("bob"))]).isEmpty)
    }

    func repositoriesAreDistinctAndSorted() async throws {
        let m = try await engine.open().store
        #expect(try await m.repositories(audiences: [.shared]).isEmpty)
        for (upstream, repository, n) in [("ghcr.io", "b", 1), ("docker.io", "b", 2), ("docker.io", "a", 3), ("docker.io", "a", 4)] {
            try await m.putLink(LinkRecord(upstream: upstream, repository: repository, digest: testDigest(n), size: 1))
        }
        try await m.putLink(LinkRecord(upstream: "docker.io", repository: "c", digest: testDigest(5), size: 1, audience: .user(name("a"))))
        let key = RepositoryKey.init(upstream:repository:)
        #expect(try await m.repositories(audiences: [.shared]) == [key("docker.io", "a"), key("docker.io", "b"), key("ghcr.io", "b")])
        #expect(
            try await m.repositories(audiences: [.user(name("a")), .shared])
                == [key("docker.io", "a"), key("docker.io", "b"), key("docker.io", "c"), key("ghcr.io", "b")])
        #expect(try await m.repositories(audiences: []).isEmpty)
    }

    func referrersPagesPerQueryAndAudience() async throws {
        let m = try await engine.open().store
        let first = page(query: "", audience: .shared, fetchedAt: 100, body: [1, 2, 3])
        #expect(try await find(m, first) == nil)
        try await m.putReferrers(first)
        #expect(try await find(m, first) == first)
        var filtered = page(query: "artifactType=x", audience: .shared, fetchedAt: 101, body: [4])
        filtered.filtersApplied = "artifactType"
        filtered.nextQuery = "artifactType=x&last=y"
        try await m.putReferrers(filtered)
        let alices = page(query: "", audience: .user(name("alice")), fetchedAt: 102, body: [5])
        try await m.putReferrers(alices)
        #expect(try await find(m, filtered) == filtered)
        #expect(try await find(m, alices) == alices)
        #expect(try await find(m, first) == first)
        #expect(try await find(m, page(query: "", audience: .user(name("bob")), fetchedAt: 0, body: [])) == nil)
        // The same key replaces the page.
        var refreshed = first
        refreshed.body = [9]
        refreshed.contentType = "application/json"
        refreshed.nextQuery = "last=z"
        refreshed.fetchedAt = 200
        try await m.putReferrers(refreshed)
        #expect(try await find(m, first) == refreshed)
    }

    func referrersUnrefreshedForAWeekGo() async throws {
        let m = try await engine.open().store
        let week: Double = 7 * 86400
        let old = page(query: "", audience: .shared, fetchedAt: 1000, body: [1])
        let oldOfAlice = page(query: "", audience: .user(name("alice")), fetchedAt: 1000, body: [2])
        try await m.putReferrers(old)
        try await m.putReferrers(oldOfAlice)
        // Exactly a week older: kept.
        try await m.putReferrers(page(query: "a", audience: .shared, fetchedAt: 1000 + week, body: [3]))
        #expect(try await find(m, old) == old)
        // More than a week older, any audience: gone when any page is stored.
        let newest = page(query: "b", audience: .shared, fetchedAt: 1001 + week, body: [4])
        try await m.putReferrers(newest)
        #expect(try await find(m, old) == nil)
        #expect(try await find(m, oldOfAlice) == nil)
        #expect(try await find(m, newest) == newest)
    }

    func survivesARestart() async throws {
        let (m, reopen) = try await engine.open()
        let d = testDigest(1)
        let tag = TagRecord(upstream: "docker.io", repository: "library/a", tag: "1", digest: d, fetchedAt: 5)
        let link = LinkRecord(upstream: "docker.io", repository: "library/a", digest: d, size: 7, audience: .user(name("alice")))
        let manifest = ManifestRecord(digest: d, mediaType: "x/y", size: 7)
        var referrers = page(query: "q", audience: .shared, fetchedAt: 100, body: [1, 2])
        referrers.filtersApplied = "artifactType"
        try await m.putTag(tag)
        try await m.putLink(link)
        try await m.putManifest(manifest)
        try await m.putReferrers(referrers)
        let again = try await reopen()
        #expect(try await again.tag(upstream: "docker.io", repository: "library/a", tag: "1", audience: .shared) == tag)
        #expect(try await again.link(upstream: "docker.io", repository: "library/a", digest: d, audience: .user(name("alice"))) == link)
        #expect(try await again.manifest(d) == manifest)
        #expect(try await find(again, referrers) == referrers)
        #expect(try await again.repositories(audiences: [.user(name("alice"))]) == [RepositoryKey(upstream: "docker.io", repository: "library/a")])
    }

    func twoConcurrentWriters() async throws {
        let m = try await engine.open().store
        try await concurrently { task, i in
            try await m.putLink(LinkRecord(upstream: "docker.io", repository: "r\(task)", digest: testDigest(i), size: Int64(i)))
            try await m.putTag(
                TagRecord(upstream: "docker.io", repository: "r\(task)", tag: "t\(i)", digest: testDigest(i), fetchedAt: 1))
            try await m.putLink(LinkRecord(upstream: "docker.io", repository: "both", digest: testDigest(i), size: Int64(task)))
        }
        for task in 0..<2 {
            #expect(try await m.tags(upstream: "docker.io", repository: "r\(task)", audiences: [.shared]).count == 50)
            for i in 0..<50 {
                #expect(
                    try await m.link(upstream: "docker.io", repository: "r\(task)", digest: testDigest(i), audience: .shared)?.size
                        == Int64(i))
                #expect(try await m.link(upstream: "docker.io", repository: "both", digest: testDigest(i), audience: .shared) != nil)
            }
        }
        #expect(try await m.repositories(audiences: [.shared]).count == 3)
    }

    private func page(query: String, audience: Audience, fetchedAt: Double, body: [UInt8]) -> ReferrersRecord {
        ReferrersRecord(
            upstream: "docker.io", repository: "library/a", subject: testDigest(1), query: query, audience: audience,
            contentType: "application/vnd.oci.image.index.v1+json", filtersApplied: nil, nextQuery: nil, body: body,
            fetchedAt: fetchedAt)
    }

    private func find(_ m: Store, _ r: ReferrersRecord) async throws -> ReferrersRecord? {
        try await m.referrers(
            upstream: r.upstream, repository: r.repository, subject: r.subject, query: r.query, audience: r.audience)
    }
}
