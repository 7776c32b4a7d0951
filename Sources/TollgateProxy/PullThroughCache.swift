import Foundation
import CoreMetrics
import Logging
import NIOCore
import RegistryCore
import ServiceLifecycle
import Synchronization
import TollgateUpstream

/// The pull-through cache: manifests, blobs and tags of every upstream, kept in a
/// content-addressed `BlobStore` and indexed in a `ContentIndexStore`.
///
/// It is also the `Service` that owns running upstream downloads, so a download outlives the
/// client that started it and is shared by everyone asking for the same blob meanwhile.
public final class PullThroughCache: Service, CacheMemory {
    let blobs: any BlobStore
    let index: ContentIndex
    let logger: Logger
    /// Blobs up to this size are kept in memory after first use.
    let smallBlobLimit: Int
    let memory: ByteLRU<Digest, ByteBuffer>
    let fills = Mutex<[FillKey: BlobFill]>([:])
    let manifestFetches: SingleFlight<ManifestKey, FetchedManifest>
    let metrics: CacheMetrics?
    public let clock: @Sendable () -> Double
    /// Blobs and manifests used since the janitor last wrote them down (last-access times are
    /// stored in batches, not per request).
    let accesses = Mutex<[Digest: BlobAccess]>([:])
    /// Pulls by tag not yet written down (the janitor takes them with the accesses).
    let tagPulls = Mutex<[TagPullKey: Double]>([:])
    /// Blob sizes declared by manifests that pulled through: the bound of their downloads.
    let declaredSizes = DeclaredSizes()
    /// The bound of a download whose size neither a manifest nor the upstream declared.
    public let maxBlobSize: Int64
    /// How long a download nobody attends goes on (unless near its end, see `BlobFill`).
    let abandonGrace: Duration
    /// `storage.max_size` for downloads in flight (connected by the `CacheJanitor`).
    public let disk = DiskBudget()
    private let jobs: AsyncStream<FillJob>
    let jobQueue: AsyncStream<FillJob>.Continuation

    /// Largest manifest accepted from upstream (distribution's own limit).
    public static let maxManifestSize = 4 << 20
    /// Default of `storage.max_blob_size`.
    public static let defaultMaxBlobSize: Int64 = 10 << 30
    /// Bytes read from disk per write to a client.
    static let readChunk = 1 << 20

    struct FillKey: Hashable, Sendable {
        var upstream: String
        var repository: RepositoryName
        var digest: Digest
        /// Downloads with different credentials are never merged.
        var audience: Audience
    }

    struct FillJob: Sendable {
        var key: FillKey
        var fill: BlobFill
        var upstream: Upstream
    }

    public init(
        blobs: any BlobStore, metadata: any ContentIndexStore, logger: Logger,
        memoryBudget: Int = 64 << 20, smallBlobLimit: Int = 256 << 10,
        maxBlobSize: Int64 = PullThroughCache.defaultMaxBlobSize, abandonGrace: Duration = .seconds(5),
        clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
        metrics factory: (any MetricsFactory)? = nil
    ) {
        let metrics = factory.map(CacheMetrics.init)
        self.metrics = metrics
        self.manifestFetches = SingleFlight(onJoin: { metrics?.manifestJoins.increment() })
        self.blobs = blobs
        self.index = ContentIndex(store: metadata)
        self.logger = logger
        self.memory = ByteLRU(capacity: memoryBudget)
        self.smallBlobLimit = smallBlobLimit
        self.maxBlobSize = maxBlobSize
        self.abandonGrace = abandonGrace
        self.clock = clock
        (jobs, jobQueue) = AsyncStream.makeStream(of: FillJob.self)
    }

    /// Forgets what memory holds of `audience` (tags and links of a deleted user): from now on
    /// its content is served only if the store still says so.
    public func forget(audience: Audience) { index.forget(audience: audience) }

    /// Runs upstream downloads until graceful shutdown; queued and running ones are finished
    /// first, and downloads asked for after that fail at once with 503.
    public func run() async {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await job in jobs {
                    group.addTask { await self.runFill(job) }
                }
            }
        } onGracefulShutdown: {
            self.jobQueue.finish()
        }
    }

    /// Notes that a stored blob or manifest was used now.
    func accessed(_ digest: Digest, size: Int64) {
        let now = clock()
        accesses.withLock { $0[digest] = BlobAccess(digest: digest, size: size, lastAccess: now) }
    }

    /// The accesses noted since the last call.
    public func takeAccesses() -> [BlobAccess] {
        accesses.withLock { a in
            defer { a.removeAll(keepingCapacity: true) }
            return Array(a.values)
        }
    }

    /// Drops what memory knows of evicted content (links, small-blob copies).
    public func forgetEvicted(_ digests: Set<Digest>) {
        guard !digests.isEmpty else { return }
        index.forgetLinks(to: digests)
        for d in digests { memory.remove(d) }
    }

    /// Drops memory's tags and links inside an admin's eviction scope.
    public func forget(_ scope: CacheScope) { index.forget(scope) }

    struct TagPullKey: Hashable {
        var upstream: String
        var repository: String
        var tag: String
        var user: String
    }

    /// Notes that `user` (`-`: anonymous) pulled a tag's manifest now; at most 100,000 pulls
    /// wait for the janitor (it takes them every 2 s).
    public func notePull(upstream: String, repository: RepositoryName, tag: Tag, user: String) {
        let key = TagPullKey(upstream: upstream, repository: repository.value, tag: tag.value, user: user)
        let now = clock()
        tagPulls.withLock { pulls in
            if pulls.count < 100_000 || pulls[key] != nil { pulls[key] = now }
        }
    }

    public func takeTagPulls() -> [TagPull] {
        tagPulls.withLock { pulls in
            defer { pulls.removeAll(keepingCapacity: true) }
            return pulls.map { TagPull(upstream: $0.key.upstream, repository: $0.key.repository, tag: $0.key.tag, user: $0.key.user, at: $0.value) }
        }
    }

    /// Number of upstream downloads running now.
    public var activeFills: Int { fills.withLock { $0.count } }
}
