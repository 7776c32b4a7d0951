import Foundation
import NIOCore
import RegistryCore
import Synchronization
import Testing
import TollgateFileStorage
import TollgateTestSupport

@testable import TollgateProxy

/// A store whose disk is full: every write of a new file fails with ENOSPC.
struct FullDiskStore: BlobStore {
    let files: FileBlobStore
    func size(of digest: Digest) async throws -> Int64? { try await files.size(of: digest) }
    func reader(_ digest: Digest) async throws -> (any BlobReader)? { try await files.reader(digest) }
    func writer() async throws -> any BlobWriter {
        throw BlobStoreError(description: "create tmp/x: No space left on device", isOutOfSpace: true)
    }
    func list() async throws -> [StoredBlob] { try await files.list() }
    func remove(_ digest: Digest) async throws -> Bool { try await files.remove(digest) }
    func quarantine(_ digest: Digest) async throws -> String { try await files.quarantine(digest) }
    func quarantinedCount() async throws -> Int { try await files.quarantinedCount() }
    func beginRun() async -> PreviousRun { await files.beginRun() }
    func recordCleanStop(at time: Double) async { await files.recordCleanStop(at: time) }
}

final class Calls: Sendable {
    let count = Mutex(0)
}

/// Downloads from upstream are bounded: by the size a manifest declared, by
/// `storage.max_blob_size`, by `storage.max_size` (the disk budget), and by someone still wanting them.
struct FillBoundsTests {
    let repo = try! RepositoryName(parsing: "org/app")
    let all = AcceptList(headerValues: [])

    static func bytes(_ n: Int, seed: UInt8 = 1) -> [UInt8] { PullThroughCacheTests.bytes(n, seed: seed) }

    /// Reads `result` and returns how many bytes arrived and the error that ended it.
    func drain(_ h: Harness, _ result: BlobResult, range: ByteRange? = nil) async -> (Int, (any Error)?) {
        let received = Mutex(0)
        do {
            try await h.cache.stream(result.body, range: range) { buf in received.withLock { $0 += buf.readableBytes } }
            return (received.withLock { $0 }, nil)
        } catch {
            return (received.withLock { $0 }, error)
        }
    }

    @Test func endlessChunkedBlobStopsAtMaxBlobSize() async throws {
        let fake = FakeRegistry()
        let d = Digest.sha256(of: Array("never ends".utf8))
        fake.setOptions {
            $0.endless = [d]
            $0.chunkDelay = .milliseconds(5)  // 2 MiB in ~160 ms: still running when blob() returns
        }
        try await Harness.with(fake, maxBlobSize: 2 << 20) { h in
            let r = try await h.cache.blob(from: h.upstream, repo, d, head: false)
            #expect(r.size == nil)
            #expect(r.bound == 2 << 20)
            let (received, error) = await drain(h, r)
            #expect(received <= 2 << 20)  // what arrived, never the end of the response
            #expect((error as? RegistryError)?.message.contains("max_blob_size") == true)
            await h.settle()
            #expect(h.cache.activeFills == 0)
            #expect(h.tmpFiles.isEmpty)
            #expect(h.storedBlobs.isEmpty)
        }
    }

    @Test func declaredSizeGivesAChunkedBlobItsLengthAndBound() async throws {
        let fake = FakeRegistry()
        let content = Self.bytes(300_000, seed: 4)
        let layer = fake.addBlob(content)
        fake.addImage(repo: "org/app", tag: "v1", layers: [layer])
        fake.setOptions { $0.chunked = [layer] }
        try await Harness.with(fake, maxBlobSize: 1 << 20) { h in
            _ = try await h.cache.manifest(from: h.upstream, repo, .tag(try Tag(parsing: "v1")), accept: all)
            let r = try await h.cache.blob(from: h.upstream, repo, layer, head: false)
            #expect(r.size == 300_000)
            #expect(r.bound == 300_000)
            #expect(try await h.read(r) == content)
            // Another repository's manifest declared nothing: there the bound is max_blob_size.
            let other = try RepositoryName(parsing: "org/other")
            fake.setOptions { $0.chunked = [] }
            let d2 = fake.addBlob(Self.bytes(200_000, seed: 5))
            fake.setOptions {
                $0.chunked = [d2]
                $0.chunkDelay = .milliseconds(50)  // still running when the size is asked for
            }
            let r2 = try await h.cache.blob(from: h.upstream, other, d2, head: false)
            #expect(r2.size == nil)
            #expect(r2.bound == 1 << 20)
        }
    }

    @Test func upstreamLengthDisagreeingWithTheManifestIsRefused() async throws {
        let fake = FakeRegistry()
        let content = Self.bytes(300_000, seed: 6)
        let layer = fake.addBlob(content)
        let manifest =
            "{\"schemaVersion\":2,\"mediaType\":\"\(MediaType.ociManifest)\",\"config\":{\"mediaType\":\"x\",\"size\":5,\"digest\":\"\(layer)\"},\"layers\":[{\"mediaType\":\"y\",\"size\":1000,\"digest\":\"\(layer)\"}]}"
        fake.putManifest(repo: "org/app", tag: "v1", bytes: Array(manifest.utf8), mediaType: MediaType.ociManifest)
        try await Harness.with(fake) { h in
            _ = try await h.cache.manifest(from: h.upstream, repo, .tag(try Tag(parsing: "v1")), accept: all)
            let error = await #expect(throws: RegistryError.self) {
                _ = try await h.cache.blob(from: h.upstream, repo, layer, head: false)
            }
            #expect(error?.code == .badGateway)
            #expect(error?.message.contains("declared 1000") == true)
            await h.settle()
            #expect(h.tmpFiles.isEmpty)
        }
    }

    @Test func announcedLengthAboveMaxBlobSizeIsRefused() async throws {
        let fake = FakeRegistry()
        let d = fake.addBlob(Self.bytes(3 << 20, seed: 7))
        try await Harness.with(fake, maxBlobSize: 1 << 20) { h in
            let error = await #expect(throws: RegistryError.self) {
                _ = try await h.cache.blob(from: h.upstream, repo, d, head: false)
            }
            #expect(error?.message.contains("max_blob_size") == true)
        }
    }

    @Test func abandonedFillStopsAndAnAttendedOneCompletes() async throws {
        let fake = FakeRegistry()
        let content = Self.bytes(4 << 20, seed: 8)
        let d = fake.addBlob(content)
        fake.setOptions {
            $0.chunkDelay = .milliseconds(40)  // 64 chunks: ~2.6 s
            $0.chunked = [d]  // unknown size: never "near its end" (a known 4 MiB always is: < 8 MiB left)
        }
        try await Harness.with(fake, abandonGrace: .milliseconds(300)) { h in
            // Nobody reads: the download stops after the grace, long before its end.
            _ = try await h.cache.blob(from: h.upstream, repo, d, head: false)
            let started = ContinuousClock.now
            while h.cache.activeFills > 0, ContinuousClock.now - started < .seconds(10) {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(ContinuousClock.now - started < .seconds(2))
            #expect(h.tmpFiles.isEmpty)
            #expect(h.storedBlobs.isEmpty)
            // A reader keeps it going to the end.
            let r = try await h.cache.blob(from: h.upstream, repo, d, head: false)
            #expect(try await h.read(r) == content)
            await h.settle()
            #expect(h.storedBlobs.count == 1)
        }
    }

    @Test func nearItsEndAFillIsNotAbandoned() async throws {
        let fill = BlobFill(digest: Digest.sha256(of: [1]))
        let dir = NSTemporaryDirectory() + "tollgate-fill-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try FileBlobStore(root: dir)
        let file = try await store.writer()
        let later = ContinuousClock.now + .seconds(60)
        fill.begin(file: file, size: 100 << 20)
        fill.progress(written: 10 << 20)
        #expect(fill.isAbandoned(now: later, grace: .seconds(5)))
        #expect(await fill.attend { fill.isAbandoned(now: later, grace: .seconds(5)) } == false)
        fill.progress(written: 91 << 20)  // ≥ 90 %
        #expect(!fill.isAbandoned(now: later + .seconds(60), grace: .seconds(5)))
        let big = BlobFill(digest: Digest.sha256(of: [2]))
        big.begin(file: file, size: 1 << 40)
        big.progress(written: (1 << 40) - (4 << 20))  // a few MiB left
        #expect(!big.isAbandoned(now: later, grace: .seconds(5)))
        let unknown = BlobFill(digest: Digest.sha256(of: [3]))
        unknown.begin(file: file, size: nil)
        unknown.progress(written: 1 << 30)
        #expect(unknown.isAbandoned(now: later, grace: .seconds(5)))
    }

    @Test func rangedReadOfALyingFillGetsNothing() async throws {
        let fake = FakeRegistry()
        let content = Self.bytes(1 << 20, seed: 9)
        let d = fake.addBlob(content)
        fake.setOptions {
            $0.corrupt = [d]
            $0.chunkDelay = .milliseconds(20)
        }
        try await Harness.with(fake) { h in
            let r = try await h.cache.blob(from: h.upstream, repo, d, head: false)
            let (received, error) = await drain(h, r, range: ByteRange(start: 0, end: 65535))
            #expect(received == 0)
            #expect((error as? RegistryError)?.code == .badGateway)
        }
    }

    @Test func rangedReadOfAGoodFillWaitsAndGetsItsBytes() async throws {
        let fake = FakeRegistry()
        let content = Self.bytes(1 << 20, seed: 10)
        let d = fake.addBlob(content)
        fake.setOptions { $0.chunkDelay = .milliseconds(5) }
        try await Harness.with(fake) { h in
            let r = try await h.cache.blob(from: h.upstream, repo, d, head: false)
            #expect(try await h.read(r, range: ByteRange(start: 100, end: 199)) == Array(content[100...199]))
        }
    }

    @Test func downloadsInFlightCountTowardMaxSize() async throws {
        let fake = FakeRegistry()
        let fits = fake.addBlob(Self.bytes(600_000, seed: 11))
        let tooBig = fake.addBlob(Self.bytes(600_000, seed: 12))
        let endless = Digest.sha256(of: Array("endless".utf8))
        fake.setOptions {
            $0.endless = [endless]
            $0.chunkDelay = .milliseconds(30)
        }
        try await Harness.with(fake) { h in
            let asked = Calls()
            h.cache.disk.connect(maxSize: 1_000_000) {
                asked.count.withLock { $0 += 1 }
                h.cache.disk.recordStored(0)  // nothing evictable
            }
            let first = try await h.cache.blob(from: h.upstream, repo, fits, head: false)
            // The first (600 kB, in flight) leaves no room for a second.
            let error = await #expect(throws: RegistryError.self) {
                _ = try await h.cache.blob(from: h.upstream, repo, tooBig, head: false)
            }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("max_size") == true)
            #expect(asked.count.withLock { $0 } >= 1)
            #expect(try await h.read(first).count == 600_000)
            await h.settle()
            // An endless download stops where the budget ends (8 MiB steps: the first is refused).
            let e: (any Error)?
            do {
                e = await drain(h, try await h.cache.blob(from: h.upstream, repo, endless, head: false)).1
            } catch {
                e = error  // refused before blob() returned
            }
            #expect((e as? RegistryError)?.code == .unavailable)
            await h.settle()
            #expect(h.tmpFiles.isEmpty)
            #expect(h.cache.disk.inFlight == 0)
        }
    }

    /// Blobs within their eviction grace can't be evicted yet: downloads still proceed while the
    /// bytes in flight alone fit in max_size (disk use stays bounded), and stop beyond that.
    @Test func aCacheFullOfRecentBlobsStillTakesDownloadsThatFitAlone() async {
        let budget = DiskBudget()
        budget.connect(maxSize: 1000) { budget.recordStored(900) }  // nothing evictable
        #expect(await budget.reserve(500))
        #expect(await budget.reserve(400))
        #expect(!(await budget.reserve(200)))
        #expect(budget.inFlight == 900)
        budget.release(900, stored: 900)
        #expect(budget.inFlight == 0)
    }

    @Test func manifestOnAFullDiskIs503() async throws {
        let fake = FakeRegistry()
        fake.addImage(repo: "org/app", tag: "v1", layers: [fake.addBlob(Self.bytes(10))])
        try await Harness.with(fake, store: { FullDiskStore(files: try FileBlobStore(root: $0)) }) { h in
            let error = await #expect(throws: RegistryError.self) {
                _ = try await h.cache.manifest(from: h.upstream, repo, .tag(try Tag(parsing: "v1")), accept: all)
            }
            #expect(error?.code == .unavailable)
            #expect(error?.httpStatus == 503)
            #expect(error?.message.contains("storage is full") == true)
        }
    }
}
