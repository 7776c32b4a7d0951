import RegistryCore

/// When each stored blob was last used, and what eviction and reports need from the index.
public struct BlobAccess: Sendable, Equatable {
    public var digest: Digest
    public var size: Int64
    /// Seconds since 1970.
    public var lastAccess: Double

    public init(digest: Digest, size: Int64, lastAccess: Double) {
        self.digest = digest
        self.size = size
        self.lastAccess = lastAccess
    }
}

/// What the cache holds, per upstream or repository (for `tollgate cache stats`).
public struct CacheShare: Sendable, Equatable {
    public var name: String
    public var blobs: Int64
    public var bytes: Int64

    public init(name: String, blobs: Int64, bytes: Int64) {
        self.name = name
        self.blobs = blobs
        self.bytes = bytes
    }
}

/// A pull of a tag's manifest by a user (`-` for anonymous callers), for the cache browser.
public struct TagPull: Sendable, Hashable {
    public var upstream: String
    public var repository: String
    public var tag: String
    public var user: String
    /// Seconds since 1970.
    public var at: Double

    public init(upstream: String, repository: String, tag: String, user: String, at: Double) {
        self.upstream = upstream
        self.repository = repository
        self.tag = tag
        self.user = user
        self.at = at
    }
}

/// When a tag was last pulled, and by how many different users (anonymous callers count as one).
public struct TagPullSummary: Sendable, Equatable {
    public var lastPulled: Double
    public var users: Int

    public init(lastPulled: Double, users: Int) {
        self.lastPulled = lastPulled
        self.users = users
    }
}

/// The index side of cache maintenance: last-access times (written in batches), the cache's
/// total, eviction candidates, and forgetting evicted content.
public protocol CacheIndexStore: Sendable {
    /// Adds or moves forward the last access of each blob.
    func recordAccess(_ entries: [BlobAccess]) async throws
    /// Least recently used first.
    func leastRecentlyUsed(limit: Int, olderThan: Double?) async throws -> [BlobAccess]
    /// Count and bytes of the blobs the index knows.
    func cachedBytes() async throws -> (blobs: Int64, bytes: Int64)
    /// Whether a cached tag points at `digest` (such manifests are kept).
    func isTagged(_ digest: Digest) async throws -> Bool
    /// Removes every trace of `digest`: access row, links, manifest record.
    func forget(_ digest: Digest) async throws
    /// Makes the access rows match the files: adds missing ones (with their modification time),
    /// removes rows of files that are gone.
    func reconcile(with files: [StoredBlob]) async throws
    func sharesByUpstream() async throws -> [CacheShare]
    func topRepositories(limit: Int) async throws -> [CacheShare]

    /// Adds pulls by tag (written in batches); a user's later pull moves their time forward.
    func recordTagPulls(_ pulls: [TagPull]) async throws
    /// Per tag of the repository that was ever pulled here.
    func tagPulls(upstream: String, repository: String) async throws -> [String: TagPullSummary]
    /// The last eviction order (`CacheEvictionStore`) this cache applied; nil before the first.
    func appliedEviction() async throws -> Int64?
    func recordAppliedEviction(_ id: Int64) async throws
}
