import Foundation
import Logging
import NIOCore
import RegistryCore
import ServiceLifecycle
import Synchronization
import Testing
import TollgateFileStorage
import TollgateSQLite
import TollgateTestSupport
import TollgateUpstream

@testable import TollgateProxy

/// A cache on a temporary directory, with its fill service running, talking to a fake upstream.
struct Harness {
    let dir: String
    let cache: PullThroughCache
    let upstream: Upstream
    let now: Clock

    final class Clock: Sendable {
        let value = Mutex<Double>(1_000_000)
        func advance(_ s: Double) { value.withLock { $0 += s } }
        var current: Double { value.withLock { $0 } }
    }

    static func with<T: Sendable>(
        _ fake: FakeRegistry, ttl: Duration = .seconds(60),
        maxBlobSize: Int64 = PullThroughCache.defaultMaxBlobSize, abandonGrace: Duration = .seconds(5),
        store: @Sendable (String) throws -> any BlobStore = { try FileBlobStore(root: $0) },
        _ body: @Sendable (Harness) async throws -> T
    ) async throws -> T {
        try await withLiveServer(fake.router(realm: { "" })) { port in
            let dir = NSTemporaryDirectory() + "tollgate-test-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let clock = Clock()
            let cache = PullThroughCache(
                blobs: try store(dir), metadata: try SQLiteStore(path: dir + "/meta.sqlite"),
                logger: Logger(label: "test"), maxBlobSize: maxBlobSize, abandonGrace: abandonGrace,
                clock: { clock.current })
            let client = RegistryClient(
                configuration: UpstreamConfiguration(name: UpstreamName("fake.io")!, url: "http://127.0.0.1:\(port)", idleTimeout: 5),
                logger: Logger(label: "test"))
            let h = Harness(dir: dir, cache: cache, upstream: Upstream(client: client, manifestTTL: ttl), now: clock)
            let result = try await { () async throws -> Result<T, any Error> in await withThrowingTaskGroup(of: Void.self) { group in
                let services = ServiceGroup(
                    configuration: .init(services: [cache], gracefulShutdownSignals: [], logger: Logger(label: "test")))
                group.addTask { try await services.run() }
                let r: Result<T, any Error>
                do {
                    r = .success(try await body(h))
                } catch {
                    r = .failure(error)
                }
                await services.triggerGracefulShutdown()
                return r
            } }()
            try await client.shutdown()
            return try result.get()
        }
    }

    func read(_ result: BlobResult, range: ByteRange? = nil) async throws -> [UInt8] {
        let collected = Mutex<[UInt8]>([])
        try await cache.stream(result.body, range: range) { buf in
            collected.withLock { $0.append(contentsOf: buf.readableBytesView) }
        }
        return collected.withLock { $0 }
    }

    var storedBlobs: [String] {
        let blobs = dir + "/blobs/sha256"
        return ((try? FileManager.default.subpathsOfDirectory(atPath: blobs)) ?? [])
            .filter { $0.count > 3 }
    }
    /// Waits (at most 5 s) until no download is running: they finish in the background after
    /// their clients have every byte.
    func settle() async {
        let deadline = ContinuousClock.now + .seconds(5)
        while cache.activeFills > 0, ContinuousClock.now < deadline { await Task.yield() }
    }

    var tmpFiles: [String] { (try? FileManager.default.contentsOfDirectory(atPath: dir + "/tmp")) ?? [] }
}

struct PullThroughCacheTests {
    let repo = try! RepositoryName(parsing: "org/app")
    let all = AcceptList(headerValues: [])

    static func bytes(_ n: Int, seed: UInt8 = 1) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) } }

    @Test func blobMissThenHit() async throws {
        let fake = FakeRegistry()
        let content = Self.bytes(3_000_000)
        let d = fake.addBlob(content)
        try await Harness.with(fake) { h in
            let first = try await h.cache.blob(from: h.upstream, repo, d, head: false)
            #expect(first.outcome == .miss)
            #expect(first.size == Int64(content.count))
            #expect(try await h.read(first) == content)
            await h.settle()
            let second = try await h.cache.blob(from: h.upstream, repo, d, head: false)
            #expect(second.outcome == .hit)
            #expect(try await h.read(second) == content)
            #expect(try await h.read(second, range: ByteRange(start: 10, end: 19)) == Array(content[10...19]))
            #expect(fake.count("GET /v2/org/app/blobs/") == 1)
        }
    }

    @Test func concurrentMissesFetchOnce() async throws {
        let fake = FakeRegistry()
        let content = Self.bytes(4_000_000, seed: 9)
        let d = fake.addBlob(content)
        fake.setOptions { $0.chunkDelay = .milliseconds(2) }
        try await Harness.with(fake) { h in
            try await withThrowingTaskGroup(of: [UInt8].self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        let r = try await h.cache.blob(from: h.upstream, repo, d, head: false)
                        return try await h.read(r)
                    }
                }
                for try await got in group { #expect(got == content) }
            }
            #expect(fake.count("GET /v2/org/app/blobs/") == 1)
        }
    }

    @Test func digestMismatchKeepsNothingAndWithholdsTheEnd() async throws {
        let fake = FakeRegistry()
        let content = Self.bytes(700_000, seed: 3)
        let d = fake.addBlob(content)
        fake.setOptions { $0.corrupt = [d] }
        try await Harness.with(fake) { h in
            let received = Mutex(0)
            // Either the stream fails before its end, or (on a busy machine, when the whole body
            // arrived and failed verification first) the request itself fails.
            await #expect(throws: RegistryError.self) {
                let r = try await h.cache.blob(from: h.upstream, repo, d, head: false)
                try await h.cache.stream(r.body, range: nil) { buf in received.withLock { $0 += buf.readableBytes } }
            }
            #expect(received.withLock { $0 } < content.count)
            await h.settle()
            #expect(h.storedBlobs.isEmpty)
            #expect(h.tmpFiles.isEmpty)
            // Nothing was linked: the next request goes upstream again.
            fake.setOptions { $0.corrupt = [] }
            let again = try await h.cache.blob(from: h.upstream, repo, d, head: false)
            #expect(again.outcome == .miss)
            #expect(try await h.read(again) == content)
        }
    }

    @Test func contentFetchedWithOwnCredentialsIsVisibleToThatUserOnly() async throws {
        let fake = FakeRegistry()
        let layer = fake.addBlob(Self.bytes(5000, seed: 9))
        let manifest = fake.addImage(repo: "org/app", tag: "v1", layers: [layer])
        fake.setOptions { $0.basic = ("owner", "secret") }  // a private repository
        let any = AcceptList(headerValues: [MediaType.dockerManifest])
        try await Harness.with(fake) { h in
            let carol = h.upstream.acting(as: .user(UserName("carol")!, StaticCredentials(username: "owner", password: "secret")))
            let dave = h.upstream.acting(as: .user(UserName("dave")!, StaticCredentials(username: "owner", password: "wrong")))
            // carol brings credentials the upstream accepts: pulled and cached for her.
            let v1 = try Tag(parsing: "v1")
            let first = try await h.cache.manifest(from: carol, repo, .tag(v1), accept: any)
            #expect(first.digest == manifest)
            let blob = try await h.cache.blob(from: carol, repo, layer, head: false)
            let bytes = try await h.read(blob)
            #expect(bytes.count == 5000)
            await h.settle()
            fake.clearLog()
            // Others: the bytes are on disk, but they are asked for upstream with their own
            // credentials (none, or wrong ones), which the upstream refuses.
            for other in [h.upstream, dave] {
                await #expect(throws: RegistryError.self) {
                    _ = try await h.cache.blob(from: other, repo, layer, head: false)
                }
                await #expect(throws: RegistryError.self) {
                    _ = try await h.cache.manifest(from: other, repo, .digest(manifest), accept: any)
                }
                await #expect(throws: RegistryError.self) {
                    _ = try await h.cache.manifest(from: other, repo, .tag(v1), accept: any)
                }
            }
            #expect(fake.count("HEAD /v2/org/app/blobs/") + fake.count("GET /v2/org/app/manifests/") >= 4)
            #expect(fake.count("GET /v2/org/app/blobs/") == 0)  // never downloaded again
            // carol herself: served from the cache, no upstream contact.
            fake.clearLog()
            let again = try await h.cache.blob(from: carol, repo, layer, head: false)
            #expect(again.outcome == .hit)
            let tagAgain = try await h.cache.manifest(from: carol, repo, .tag(v1), accept: any)
            #expect(tagAgain.outcome == .hit)
            #expect(fake.log.isEmpty)
            // Once the upstream says the shared identity may have it, it is linked for everyone
            // from the bytes on disk (one HEAD, no download).
            fake.setOptions { $0.basic = nil }
            let shared = try await h.cache.blob(from: h.upstream, repo, layer, head: false)
            #expect(shared.outcome == .hit)
            #expect(fake.count("GET /v2/org/app/blobs/") == 0)
            let listed = try await h.cache.cachedRepositories(audiences: [.shared])
            #expect(listed.count == 1)
        }
    }

    @Test func unknownBlobIsBlobUnknown() async throws {
        let fake = FakeRegistry()
        try await Harness.with(fake) { h in
            let d = Digest.sha256(of: [1, 2, 3])
            await #expect(throws: RegistryError.blobUnknown(d.description)) {
                _ = try await h.cache.blob(from: h.upstream, repo, d, head: false)
            }
        }
    }

    @Test func blobOfAnotherRepositoryNeedsUpstreamConfirmation() async throws {
        let fake = FakeRegistry()
        let d = fake.addBlob(Self.bytes(1000))
        try await Harness.with(fake) { h in
            _ = try await h.read(try await h.cache.blob(from: h.upstream, repo, d, head: false))
            await h.settle()
            let other = try RepositoryName(parsing: "someone/else")
            let r = try await h.cache.blob(from: h.upstream, other, d, head: false)
            #expect(r.outcome == .hit)
            #expect(fake.count("HEAD /v2/someone/else/blobs/") == 1)
            #expect(fake.count("GET /v2/someone/else/blobs/") == 0)
        }
    }

    @Test func tagWithinTTLNeverTouchesUpstreamThenRevalidatesWithOneHead() async throws {
        let fake = FakeRegistry()
        let d = fake.addImage(repo: "org/app", tag: "v1", layers: [])
        try await Harness.with(fake, ttl: .seconds(300)) { h in
            let tag = Reference.tag(try Tag(parsing: "v1"))
            let m1 = try await h.cache.manifest(from: h.upstream, repo, tag, accept: all)
            #expect(m1.digest == d)
            #expect(m1.outcome == .miss)
            #expect(m1.mediaType == MediaType.dockerManifest)
            fake.clearLog()
            let m2 = try await h.cache.manifest(from: h.upstream, repo, tag, accept: all)
            #expect(m2.outcome == .hit)
            #expect(fake.log.isEmpty)
            h.now.advance(301)
            let m3 = try await h.cache.manifest(from: h.upstream, repo, tag, accept: all)
            #expect(m3.outcome == .revalidated)
            #expect(fake.log == ["HEAD /v2/org/app/manifests/v1"])
            // by digest: immutable, never revalidated
            fake.clearLog()
            h.now.advance(10_000)
            let m4 = try await h.cache.manifest(from: h.upstream, repo, .digest(d), accept: all)
            #expect(m4.outcome == .hit)
            #expect(fake.log.isEmpty)
        }
    }

    @Test func staleIfErrorAndTagGone() async throws {
        let fake = FakeRegistry()
        let d = fake.addImage(repo: "org/app", tag: "v1", layers: [])
        try await Harness.with(fake, ttl: .seconds(5)) { h in
            let tag = Reference.tag(try Tag(parsing: "v1"))
            _ = try await h.cache.manifest(from: h.upstream, repo, tag, accept: all)
            h.now.advance(10)
            fake.setOptions { $0.failStatus = 503 }
            let stale = try await h.cache.manifest(from: h.upstream, repo, tag, accept: all)
            #expect(stale.outcome == .stale)
            #expect(stale.digest == d)
            #expect(stale.warning != nil)
            fake.setOptions { $0.failStatus = 429 }
            #expect(try await h.cache.manifest(from: h.upstream, repo, tag, accept: all).outcome == .stale)
            // An upstream 404 means the tag is gone.
            fake.setOptions { $0.failStatus = nil }
            fake.removeTag(repo: "org/app", tag: "v1")
            await #expect(throws: RegistryError.manifestUnknown("v1")) {
                _ = try await h.cache.manifest(from: h.upstream, repo, tag, accept: all)
            }
            // Never-seen tag while upstream fails: an error, not a guess.
            fake.setOptions { $0.failStatus = 503 }
            await #expect {
                _ = try await h.cache.manifest(from: h.upstream, repo, .tag(try Tag(parsing: "v2")), accept: all)
            } throws: { ($0 as? RegistryError)?.httpStatus == 502 }
        }
    }

    @Test func manifestDigestMismatchIsRefused() async throws {
        let fake = FakeRegistry()
        let good = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#.utf8)
        _ = fake.putManifest(repo: "org/app", tag: "v1", bytes: good, mediaType: MediaType.ociManifest)
        try await Harness.with(fake) { h in
            let wrong = Digest.sha256(of: [9, 9, 9])
            // The fake serves the good bytes under a digest key they don't hash to.
            _ = fake.putManifest(repo: "org/app", tag: wrong.description, bytes: good, mediaType: MediaType.ociManifest)
            await #expect {
                _ = try await h.cache.manifest(from: h.upstream, repo, .digest(wrong), accept: all)
            } throws: { ($0 as? RegistryError)?.httpStatus == 502 }
            #expect(h.storedBlobs.isEmpty)
        }
    }

    @Test func acceptWithoutTheTagsTypeIsManifestUnknownWithoutAskingUpstream() async throws {
        let fake = FakeRegistry()
        _ = fake.addImage(repo: "org/app", tag: "v1", layers: [], mediaType: MediaType.ociManifest)
        try await Harness.with(fake) { h in
            let tag = Reference.tag(try Tag(parsing: "v1"))
            _ = try await h.cache.manifest(from: h.upstream, repo, tag, accept: all)
            fake.clearLog()
            let dockerOnly = AcceptList(headerValues: [MediaType.dockerManifest])
            await #expect {
                _ = try await h.cache.manifest(from: h.upstream, repo, tag, accept: dockerOnly)
            } throws: { ($0 as? RegistryError)?.code == .manifestUnknown }
            #expect(fake.log.isEmpty)
        }
    }

    @Test func singleManifestClientGetsTheLinuxAmd64ChildOfAList() async throws {
        let fake = FakeRegistry()
        let arm = fake.addImage(repo: "org/multi", tag: "arm", layers: [])
        let amd = fake.addImage(repo: "org/multi", tag: "amd", layers: [fake.addBlob([1, 2, 3])])
        let list = """
            {"schemaVersion":2,"mediaType":"\(MediaType.dockerManifestList)","manifests":[\
            {"mediaType":"\(MediaType.dockerManifest)","digest":"\(arm)","size":1,"platform":{"architecture":"arm64","os":"linux"}},\
            {"mediaType":"\(MediaType.dockerManifest)","digest":"\(amd)","size":1,"platform":{"architecture":"amd64","os":"linux"}}]}
            """
        let listDigest = fake.putManifest(repo: "org/multi", tag: "latest", bytes: Array(list.utf8), mediaType: MediaType.dockerManifestList)
        try await Harness.with(fake) { h in
            let multi = try RepositoryName(parsing: "org/multi")
            let tag = Reference.tag(try Tag(parsing: "latest"))
            let full = try await h.cache.manifest(from: h.upstream, multi, tag, accept: all)
            #expect(full.digest == listDigest)
            let single = try await h.cache.manifest(
                from: h.upstream, multi, tag, accept: AcceptList(headerValues: [MediaType.dockerManifest]))
            #expect(single.digest == amd)
            #expect(single.mediaType == MediaType.dockerManifest)
        }
    }

    @Test func concurrentColdTagRequestsShareOneUpstreamGet() async throws {
        let fake = FakeRegistry()
        let d = fake.addImage(repo: "org/app", tag: "v1", layers: [])
        try await Harness.with(fake) { h in
            try await withThrowingTaskGroup(of: Digest.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await h.cache.manifest(from: h.upstream, repo, .tag(try Tag(parsing: "v1")), accept: all).digest
                    }
                }
                for try await got in group { #expect(got == d) }
            }
            #expect(fake.count("GET /v2/org/app/manifests/v1") == 1)
        }
    }

    @Test func tagsFallBackToCacheWhenUpstreamFails() async throws {
        let fake = FakeRegistry()
        _ = fake.addImage(repo: "org/app", tag: "a", layers: [])
        _ = fake.addImage(repo: "org/app", tag: "b", layers: [])
        try await Harness.with(fake) { h in
            let live = try await h.cache.tags(from: h.upstream, repo, page: Pagination())
            #expect(live.tags == ["a", "b"])
            _ = try await h.cache.manifest(from: h.upstream, repo, .tag(try Tag(parsing: "a")), accept: all)
            fake.setOptions { $0.failStatus = 500 }
            let cached = try await h.cache.tags(from: h.upstream, repo, page: Pagination())
            #expect(cached.tags == ["a"])
            #expect(cached.outcome == .stale)
        }
    }
}
