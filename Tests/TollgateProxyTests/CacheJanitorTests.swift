import Foundation
import Logging
import RegistryCore
import Testing
import TollgateFileStorage
import TollgateSQLite
import TollgateTestSupport

@testable import TollgateProxy

struct CacheJanitorTests {
    let repo = try! RepositoryName(parsing: "org/app")

    func janitor(_ h: Harness, maxSize: Int64?) throws -> (CacheJanitor, SQLiteStore, FileBlobStore) {
        let store = try SQLiteStore(path: h.dir + "/meta.sqlite")
        let files = try FileBlobStore(root: h.dir, clearTemporary: false)
        let janitor = CacheJanitor(
            blobs: files, index: store, content: store, maxSize: maxSize, logger: Logger(label: "t"), memory: h.cache, disk: h.cache.disk,
            clock: h.cache.clock)
        return (janitor, store, files)
    }

    @Test func evictsTheColdestBlobsButNotHotOnesOrTaggedManifests() async throws {
        let fake = FakeRegistry()
        let cold = fake.addBlob(PullThroughCacheTests.bytes(400_000, seed: 1))
        let warm = fake.addBlob(PullThroughCacheTests.bytes(400_000, seed: 2))
        let hot = fake.addBlob(PullThroughCacheTests.bytes(400_000, seed: 3))
        let manifest = fake.addImage(repo: "org/app", tag: "v1", layers: [hot])
        try await Harness.with(fake) { h in
            for d in [cold, warm, hot] {
                _ = try await h.read(try await h.cache.blob(from: h.upstream, repo, d, head: false))
                await h.settle()
                h.now.advance(60)
            }
            _ = try await h.cache.manifest(from: h.upstream, repo, .tag(try Tag(parsing: "v1")), accept: .init(headerValues: []))
            h.now.advance(60)
            _ = try await h.read(try await h.cache.blob(from: h.upstream, repo, hot, head: false))  // used again
            // The janitor comes now: with it from the start, the third download would have made room.
            let (j, store, _) = try janitor(h, maxSize: 1_000_000)
            await j.flushAccesses()
            #expect(try await store.cachedBytes().bytes > 1_000_000)
            // The coldest go until the cache is below 95 %; `hot` was used just now.
            let evicted = await j.evictIfNeeded()
            #expect(evicted.blobs == 1)
            #expect(evicted.bytes == 400_000)
            #expect(try await store.cachedBytes().bytes <= 950_000)
            #expect(h.storedBlobs.count == 3)  // warm, hot, the manifest
            #expect(try await store.isTagged(manifest))
            // The evicted blob is fetched again when asked for (its link is gone with it); the
            // download counts toward max_size, so room is made first: `warm` (the least recently
            // used) goes, `hot` stays.
            fake.clearLog()
            let again = try await h.cache.blob(from: h.upstream, repo, cold, head: false)
            #expect(again.outcome == .miss)
            #expect(try await h.read(again).count == 400_000)
            #expect(fake.count("GET /v2/org/app/blobs/") == 1)
            // A dry run reports without removing.
            await h.settle()
            #expect(j.evicted.blobs == 2)
            #expect(h.storedBlobs.count == 3)  // hot, cold, the manifest
            await j.flushAccesses()
            h.now.advance(60)
            let before = h.storedBlobs.count
            let dry = await j.evict(down: .max, dryRun: true)
            #expect(dry.blobs == 2)  // every blob but the tagged manifest
            #expect(h.storedBlobs.count == before)
        }
    }

    @Test func evictingATagTakesWhatOnlyItNamesAndTheNextPullGoesUpstream() async throws {
        let fake = FakeRegistry()
        let shared = fake.addBlob(PullThroughCacheTests.bytes(100_000, seed: 11))
        let only1 = fake.addBlob(PullThroughCacheTests.bytes(200_000, seed: 12))
        let only2 = fake.addBlob(PullThroughCacheTests.bytes(300_000, seed: 13))
        let v1 = fake.addImage(repo: "org/app", tag: "v1", layers: [shared, only1])
        let v2 = fake.addImage(repo: "org/app", tag: "v2", layers: [shared, only2])
        @Sendable func config(_ tag: String) -> Digest { Digest.sha256(of: Array("{\"architecture\":\"amd64\",\"os\":\"linux\",\"tag\":\"\(tag)\"}".utf8)) }
        try await Harness.with(fake) { h in
            let (j, store, _) = try janitor(h, maxSize: nil)
            for tag in ["v1", "v2"] {
                _ = try await h.cache.manifest(from: h.upstream, repo, .tag(try Tag(parsing: tag)), accept: .init(headerValues: []))
            }
            for d in [shared, only1, only2, config("v1"), config("v2")] {
                _ = try await h.read(try await h.cache.blob(from: h.upstream, repo, d, head: false))
                await h.settle()
            }
            #expect(h.storedBlobs.count == 7)
            let v1Scope = try CacheScope(parsing: "\(h.upstream.name)/org/app:v1")
            let removed = try await j.evict(v1Scope)
            // The tag, its manifest, its config and its own layer; the shared layer stays.
            #expect(removed == EvictionResult(tags: 1, blobs: 3, bytes: 200_000 + Int64(sizes(fake, v1, config("v1")))))
            #expect(Set(h.storedBlobs) == Set([shared, only2, v2, config("v2")].map { let h = $0.description.dropFirst(7); return "\(h.prefix(2))/\(h)" }))
            #expect(try await store.tagRecords(upstream: h.upstream.name, repository: "org/app").map(\.tag) == ["v2"])
            #expect(try await store.link(upstream: h.upstream.name, repository: "org/app", digest: shared, audience: .shared) != nil)
            // Within the manifest TTL, the tag is asked for upstream again (memory forgot it too).
            fake.clearLog()
            let again = try await h.cache.manifest(from: h.upstream, repo, .tag(try Tag(parsing: "v1")), accept: .init(headerValues: []))
            #expect(again.digest == v1 && again.outcome == .miss)
            #expect(fake.count("GET /v2/org/app/manifests/") >= 1)
            let cachedV2 = try await h.cache.manifest(from: h.upstream, repo, .tag(try Tag(parsing: "v2")), accept: .init(headerValues: []))
            #expect(cachedV2.outcome == .hit)
            // The repository takes the rest.
            // v1's tag and manifest, fetched again just now; then a run that finds nothing.
            #expect(try await j.evict(v1Scope) == EvictionResult(tags: 1, blobs: 1, bytes: Int64(sizes(fake, v1))))
            #expect(try await j.evict(v1Scope) == EvictionResult())
            let rest = try await j.evict(CacheScope(parsing: "\(h.upstream.name)/org/app"))
            #expect(rest.tags == 1 && rest.blobs == 4)
            #expect(h.storedBlobs.isEmpty)
            #expect(try await store.cachedBytes().blobs == 0)
            #expect(try await !store.isLinked(shared))
        }
    }

    private func sizes(_ fake: FakeRegistry, _ digests: Digest...) -> Int {
        var total = 0
        for d in digests { total += fake.bytes(of: d)?.count ?? 0 }
        return total
    }

    @Test func scopesParseAndRefuseBadNames() throws {
        let tag = try CacheScope(parsing: "localhost:5000/team/app:1.0")
        #expect(tag.upstream == "localhost:5000" && tag.repository?.value == "team/app" && tag.tag?.value == "1.0")
        #expect(tag.description == "localhost:5000/team/app:1.0")
        #expect(try CacheScope(parsing: "docker.io").repository == nil)
        #expect(try CacheScope(parsing: "docker.io/library/alpine").tag == nil)
        for bad in ["", "/library/alpine", "docker.io/Library/alpine", "docker.io/alpine:", "docker.io/alpine:-x",
            "docker.io/alpine@sha256:abc", "docker.io/", "docker.io//a", "a b/c", String(repeating: "a", count: 600)]
        {
            #expect(throws: CacheScopeError.self, "\(bad)") { try CacheScope(parsing: bad) }
        }
    }

    @Test func damagedBlobsAreMovedAsideAndForgotten() async throws {
        let fake = FakeRegistry()
        let d = fake.addBlob(PullThroughCacheTests.bytes(300_000, seed: 7))
        try await Harness.with(fake) { h in
            let (j, store, files) = try janitor(h, maxSize: nil)
            _ = try await h.read(try await h.cache.blob(from: h.upstream, repo, d, head: false))
            await h.settle()
            await j.reconcile()
            #expect(try await store.cachedBytes().blobs == 1)
            #expect(await j.verify(d) == nil)  // intact
            // Flip one byte on disk (a power cut, a bad disk).
            let path = files.path(of: d)
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            bytes[1000] ^= 0xff
            try bytes.write(to: URL(fileURLWithPath: path))
            let moved = await j.verify(d)
            #expect(moved?.contains("/damaged/") == true)
            #expect(!FileManager.default.fileExists(atPath: path))
            #expect(try await store.cachedBytes().blobs == 0)
            // Asked again: a clean download, never the damaged bytes.
            let again = try await h.cache.blob(from: h.upstream, repo, d, head: false)
            #expect(again.outcome == .miss)
            #expect(Digest.sha256(of: try await h.read(again)) == d)
        }
    }
}
