import Foundation
import RegistryCore
import Testing
import TollgateProxy

/// The contract of `CacheIndexStore`, for every adapter; what it answers about tags and links
/// needs the same adapter's `ContentIndexStore`.
public struct CacheIndexStoreConformance<Store: CacheIndexStore & ContentIndexStore>: ConformanceSuite {
    let engine: Engine<Store>

    public init(_ engine: Engine<Store>) { self.engine = engine }

    public var checks: [Check] {
        [
            ("accessTimesMoveForwardAndAddUp", accessTimesMoveForwardAndAddUp),
            ("leastRecentlyUsedFirst", leastRecentlyUsedFirst),
            ("taggedInAnyAudience", taggedInAnyAudience),
            ("forgetRemovesAccessLinksAndManifest", forgetRemovesAccessLinksAndManifest),
            ("reconcileMatchesTheFiles", reconcileMatchesTheFiles),
            ("sharesCountEachBlobOncePerGroup", sharesCountEachBlobOncePerGroup),
            ("survivesARestart", survivesARestart),
            ("twoConcurrentWriters", twoConcurrentWriters),
            ("tagPullsCountUsersAndKeepTheLatest", tagPullsCountUsersAndKeepTheLatest),
            ("appliedEvictionOnlyMovesForward", appliedEvictionOnlyMovesForward),
        ]
    }

    func tagPullsCountUsersAndKeepTheLatest() async throws {
        let (m, reopen) = try await engine.open()
        #expect(try await m.tagPulls(upstream: "docker.io", repository: "a/b").isEmpty)
        try await m.recordTagPulls([])
        try await m.recordTagPulls([
            TagPull(upstream: "docker.io", repository: "a/b", tag: "1", user: "alice", at: 10),
            TagPull(upstream: "docker.io", repository: "a/b", tag: "1", user: "-", at: 30),
            TagPull(upstream: "docker.io", repository: "a/b", tag: "2", user: "alice", at: 5),
            TagPull(upstream: "docker.io", repository: "a/c", tag: "1", user: "bob", at: 50),
            TagPull(upstream: "ghcr.io", repository: "a/b", tag: "1", user: "bob", at: 60),
        ])
        // alice again, earlier: her time doesn't move back, and she counts once.
        try await m.recordTagPulls([TagPull(upstream: "docker.io", repository: "a/b", tag: "1", user: "alice", at: 1)])
        let pulls = try await reopen().tagPulls(upstream: "docker.io", repository: "a/b")
        #expect(pulls == ["1": TagPullSummary(lastPulled: 30, users: 2), "2": TagPullSummary(lastPulled: 5, users: 1)])
    }

    func appliedEvictionOnlyMovesForward() async throws {
        let (m, reopen) = try await engine.open()
        #expect(try await m.appliedEviction() == nil)
        try await m.recordAppliedEviction(0)
        #expect(try await m.appliedEviction() == 0)
        try await m.recordAppliedEviction(7)
        try await m.recordAppliedEviction(3)
        #expect(try await reopen().appliedEviction() == 7)
    }

    func accessTimesMoveForwardAndAddUp() async throws {
        let m = try await engine.open().store
        let empty = try await m.cachedBytes()
        #expect(empty.blobs == 0 && empty.bytes == 0)
        try await m.recordAccess([])
        try await m.recordAccess([access(1, size: 10, at: 100), access(2, size: 20, at: 50)])
        let two = try await m.cachedBytes()
        #expect(two.blobs == 2 && two.bytes == 30)
        // An earlier time doesn't move the last access back; the size is the latest.
        try await m.recordAccess([access(1, size: 11, at: 90)])
        #expect(try await m.leastRecentlyUsed(limit: 10, olderThan: nil) == [access(2, size: 20, at: 50), access(1, size: 11, at: 100)])
        try await m.recordAccess([access(2, size: 20, at: 200)])
        #expect(try await m.leastRecentlyUsed(limit: 10, olderThan: nil) == [access(1, size: 11, at: 100), access(2, size: 20, at: 200)])
        let after = try await m.cachedBytes()
        #expect(after.blobs == 2 && after.bytes == 31)
    }

    func leastRecentlyUsedFirst() async throws {
        let m = try await engine.open().store
        #expect(try await m.leastRecentlyUsed(limit: 10, olderThan: nil).isEmpty)
        try await m.recordAccess([30, 10, 50, 20, 40].map { access($0, size: 1, at: Double($0)) })
        #expect(try await m.leastRecentlyUsed(limit: 2, olderThan: nil).map(\.lastAccess) == [10, 20])
        #expect(try await m.leastRecentlyUsed(limit: 10, olderThan: nil).map(\.lastAccess) == [10, 20, 30, 40, 50])
        // Strictly older.
        #expect(try await m.leastRecentlyUsed(limit: 10, olderThan: 30).map(\.lastAccess) == [10, 20])
        #expect(try await m.leastRecentlyUsed(limit: 10, olderThan: 10).isEmpty)
        #expect(try await m.leastRecentlyUsed(limit: 0, olderThan: nil).isEmpty)
        #expect(try await m.leastRecentlyUsed(limit: 1, olderThan: 100) == [access(10, size: 1, at: 10)])
    }

    func taggedInAnyAudience() async throws {
        let m = try await engine.open().store
        let d = testDigest(1)
        #expect(try await !m.isTagged(d))
        try await m.putTag(
            TagRecord(upstream: "docker.io", repository: "p/x", tag: "1", digest: d, fetchedAt: 1, audience: .user(name("alice"))))
        #expect(try await m.isTagged(d))
        #expect(try await !m.isTagged(testDigest(2)))
        try await m.deleteTag(upstream: "docker.io", repository: "p/x", tag: "1", audience: .user(name("alice")))
        #expect(try await !m.isTagged(d))
    }

    func forgetRemovesAccessLinksAndManifest() async throws {
        let m = try await engine.open().store
        let (d, kept) = (testDigest(1), testDigest(2))
        for digest in [d, kept] {
            try await m.recordAccess([BlobAccess(digest: digest, size: 5, lastAccess: 1)])
            try await m.putManifest(ManifestRecord(digest: digest, mediaType: "x/y", size: 5))
            try await m.putLink(LinkRecord(upstream: "docker.io", repository: "a", digest: digest, size: 5))
            try await m.putLink(LinkRecord(upstream: "ghcr.io", repository: "b", digest: digest, size: 5, audience: .user(name("u"))))
        }
        try await m.putTag(TagRecord(upstream: "docker.io", repository: "a", tag: "1", digest: d, fetchedAt: 1))
        try await m.forget(d)
        #expect(try await m.leastRecentlyUsed(limit: 10, olderThan: nil).map(\.digest) == [kept])
        #expect(try await m.manifest(d) == nil)
        #expect(try await m.link(upstream: "docker.io", repository: "a", digest: d, audience: .shared) == nil)
        #expect(try await m.link(upstream: "ghcr.io", repository: "b", digest: d, audience: .user(name("u"))) == nil)
        #expect(try await !m.hasLink(upstream: "docker.io", digest: d))
        #expect(try await !m.hasLink(upstream: "ghcr.io", digest: d))
        // Tags are not content: forgetting leaves them (the janitor keeps tagged manifests).
        #expect(try await m.isTagged(d))
        // Nothing else goes.
        #expect(try await m.manifest(kept) != nil)
        #expect(try await m.hasLink(upstream: "ghcr.io", digest: kept))
        let left = try await m.cachedBytes()
        #expect(left.blobs == 1 && left.bytes == 5)
        try await m.forget(testDigest(3))  // unknown: no error
    }

    func reconcileMatchesTheFiles() async throws {
        let m = try await engine.open().store
        try await m.recordAccess([access(1, size: 10, at: 100), access(2, size: 20, at: 200)])
        // A row of a file that is gone goes; a file without a row gets one at its modification
        // time; a known file keeps its last access and takes the file's size.
        try await m.reconcile(with: [
            StoredBlob(digest: testDigest(2), size: 25, modified: 999), StoredBlob(digest: testDigest(3), size: 30, modified: 300),
        ])
        #expect(try await m.leastRecentlyUsed(limit: 10, olderThan: nil) == [access(2, size: 25, at: 200), access(3, size: 30, at: 300)])
        let counted = try await m.cachedBytes()
        #expect(counted.blobs == 2 && counted.bytes == 55)
        try await m.reconcile(with: [])
        #expect(try await m.leastRecentlyUsed(limit: 10, olderThan: nil).isEmpty)
    }

    func sharesCountEachBlobOncePerGroup() async throws {
        let m = try await engine.open().store
        #expect(try await m.sharesByUpstream().isEmpty)
        #expect(try await m.topRepositories(limit: 10).isEmpty)
        try await m.recordAccess([access(1, size: 10, at: 1), access(2, size: 20, at: 1), access(3, size: 40, at: 1)])
        let links: [(String, String, Int, Audience)] = [
            ("docker.io", "a", 1, .shared), ("docker.io", "b", 1, .shared), ("docker.io", "a", 2, .user(name("u"))),
            ("docker.io", "a", 2, .shared), ("ghcr.io", "c", 3, .shared),
            ("ghcr.io", "c", 4, .shared),  // no access row: not counted
        ]
        for (upstream, repository, n, audience) in links {
            try await m.putLink(
                LinkRecord(upstream: upstream, repository: repository, digest: testDigest(n), size: 1, audience: audience))
        }
        #expect(
            try await m.sharesByUpstream()
                == [CacheShare(name: "ghcr.io", blobs: 1, bytes: 40), CacheShare(name: "docker.io", blobs: 2, bytes: 30)])
        #expect(
            try await m.topRepositories(limit: 10) == [
                CacheShare(name: "ghcr.io/c", blobs: 1, bytes: 40), CacheShare(name: "docker.io/a", blobs: 2, bytes: 30),
                CacheShare(name: "docker.io/b", blobs: 1, bytes: 10),
            ])
        #expect(try await m.topRepositories(limit: 1) == [CacheShare(name: "ghcr.io/c", blobs: 1, bytes: 40)])
    }

    func survivesARestart() async throws {
        let (m, reopen) = try await engine.open()
        try await m.recordAccess([access(1, size: 10, at: 100), access(2, size: 20, at: 50)])
        let again = try await reopen()
        #expect(try await again.leastRecentlyUsed(limit: 10, olderThan: nil) == [access(2, size: 20, at: 50), access(1, size: 10, at: 100)])
        let counted = try await again.cachedBytes()
        #expect(counted.blobs == 2 && counted.bytes == 30)
    }

    func twoConcurrentWriters() async throws {
        let m = try await engine.open().store
        try await concurrently { task, i in
            try await m.recordAccess([
                access(1000 * (task + 1) + i, size: 1, at: Double(i)), access(0, size: 1, at: Double(100 * task + i)),
            ])
        }
        let counted = try await m.cachedBytes()
        #expect(counted.blobs == 101 && counted.bytes == 101)
        // The shared blob's last access is the latest either writer recorded.
        #expect(try await m.leastRecentlyUsed(limit: 200, olderThan: nil).last == access(0, size: 1, at: 149))
    }

    private func access(_ n: Int, size: Int64, at time: Double) -> BlobAccess {
        BlobAccess(digest: testDigest(n), size: size, lastAccess: time)
    }
}
