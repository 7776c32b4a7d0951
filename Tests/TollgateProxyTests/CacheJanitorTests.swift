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
            blobs: files, index: store, maxSize: maxSize, logger: Logger(label: "t"), memory: h.cache, disk: h.cache.disk,
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
