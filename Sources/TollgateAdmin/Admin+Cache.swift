import Foundation
import Logging
import RegistryCore
import TollgateLimits
import TollgateProxy

extension Admin {
    /// What `cache stats` reports.
    public struct CacheStats: Sendable {
        public var blobs: Int64
        public var bytes: Int64
        /// Blob bytes sent to clients in the last 30 days, and of those served from the cache.
        public var sent30d: Int64
        public var hit30d: Int64
        public var byUpstream: [CacheShare]
        public var topRepositories: [CacheShare]
        /// Blobs found damaged and moved aside, kept for inspection.
        public var quarantined: Int

        public var hitRatio: Double? { sent30d > 0 ? Double(hit30d) / Double(sent30d) : nil }
    }

    public func cacheStats(now: Date = Date()) async throws -> CacheStats {
        let (blobs, bytes) = try await stores.cacheIndex.cachedBytes()
        let since = CivilDate(unixSeconds: Int64(now.timeIntervalSince1970) - 29 * 86400).description
        let usage = try await stores.usageLedger.usage(since: since, user: nil)
        return CacheStats(
            blobs: blobs, bytes: bytes, sent30d: usage.reduce(0) { $0 + $1.bytesSent },
            hit30d: usage.reduce(0) { $0 + $1.hitBytes }, byUpstream: try await stores.cacheIndex.sharesByUpstream(),
            topRepositories: try await stores.cacheIndex.topRepositories(limit: 10),
            quarantined: (try? await stores.blobs.quarantinedCount()) ?? 0)
    }

    /// What `cache prune` did (or, on a dry run, would do).
    public struct PruneResult: Sendable {
        public var blobs: Int
        public var bytes: Int64
        /// The cache's size before.
        public var before: Int64
    }

    /// Evicts least recently used blobs: those unused since `olderThan` (seconds since 1970),
    /// then down to `maxSize` (default `storage.max_size`). Blobs used in the last 10 seconds
    /// and manifests a cached tag points at are kept.
    public func pruneCache(maxSize: Int64?, olderThan: Double?, dryRun: Bool) async throws -> PruneResult {
        let target = maxSize ?? policy.maxCacheSize
        guard target != nil || olderThan != nil else {
            throw AdminError("nothing to do: give --max-size or --older-than (storage.max_size is not set)")
        }
        let janitor = makeJanitor()
        let (_, before) = try await stores.cacheIndex.cachedBytes()
        var total = PruneResult(blobs: 0, bytes: 0, before: before)
        if let olderThan {
            let r = await janitor.evict(down: .max, olderThan: olderThan, dryRun: dryRun)
            total.blobs += r.blobs
            total.bytes += r.bytes
        }
        if let target, before - total.bytes > target {
            let r = await janitor.evict(down: before - total.bytes - target, dryRun: dryRun)
            total.blobs += r.blobs
            total.bytes += r.bytes
        }
        return total
    }

    /// Hashes every stored blob; damaged ones are quarantined and forgotten. `progress` hears of
    /// each blob checked: its index in `all`, and where it went when damaged. Returns `all`.
    public func verifyCache(
        progress: (_ index: Int, _ all: [StoredBlob], _ quarantinedTo: String?) -> Void
    ) async throws -> [StoredBlob] {
        let janitor = makeJanitor()
        let blobs = try await stores.blobs.list()
        for i in blobs.indices {
            progress(i, blobs, await janitor.verify(blobs[i].digest))
        }
        return blobs
    }

    /// A janitor on the stores alone, beside a server that may be running.
    public func makeJanitor() -> CacheJanitor {
        CacheJanitor(
            blobs: stores.blobs, index: stores.cacheIndex, content: stores.contentIndex, maxSize: policy.maxCacheSize,
            logger: Logger(label: "tollgate.cache"))
    }
}

extension Admin {
    /// A cached tag as the admin's cache browser shows it.
    public struct CachedTag: Sendable, Equatable {
        public var tag: String
        public var digest: Digest
        /// The manifest's size and media type, when the manifest itself is cached.
        public var size: Int64?
        public var mediaType: String?
        public var fetchedAt: Date
        /// `shared`, or `user:<name>` for content fetched with that user's own credentials.
        public var audience: String
        /// When the tag was last pulled here, and by how many different users (anonymous
        /// callers count as one); nil and 0 before the first pull noted.
        public var lastPulled: Date?
        public var pulledBy: Int
    }

    /// Every audience content can be cached for: shared, and each user's own.
    func allAudiences() async throws -> [Audience] {
        [.shared] + (try await listUsers()).compactMap { UserName($0.name).map(Audience.user) }
    }

    /// Every (upstream, repository) with cached content, for anyone.
    public func cachedRepositories() async throws -> [RepositoryKey] {
        try await stores.contentIndex.repositories(audiences: try await allAudiences())
    }

    /// A cached repository's tags, for every audience, by tag then audience, with who pulled
    /// them here.
    public func cachedTags(upstream: String, repository: String) async throws -> [CachedTag] {
        let pulls = try await stores.cacheIndex.tagPulls(upstream: upstream, repository: repository)
        var result: [CachedTag] = []
        for record in try await stores.contentIndex.tagRecords(upstream: upstream, repository: repository) {
            let manifest = try await stores.contentIndex.manifest(record.digest)
            let pulled = pulls[record.tag]
            result.append(
                CachedTag(
                    tag: record.tag, digest: record.digest, size: manifest?.size, mediaType: manifest?.mediaType,
                    fetchedAt: Date(timeIntervalSince1970: record.fetchedAt), audience: record.audience.key,
                    lastPulled: pulled.map { Date(timeIntervalSince1970: $0.lastPulled) }, pulledBy: pulled?.users ?? 0))
        }
        return result.sorted { ($0.tag, $0.audience) < ($1.tag, $1.audience) }
    }
}

extension Admin {
    /// What an eviction did: the order's id in the eviction log, and what it removed here.
    public struct Eviction: Sendable {
        public var order: Int64
        public var scope: CacheScope
        public var removed: EvictionResult
    }

    /// Evicts `scope` (`UPSTREAM`, `UPSTREAM/REPO` or `UPSTREAM/REPO:TAG`) from the cache, for
    /// every audience: logs the order (running servers apply it to their memory and, in a
    /// cluster, every node to its own cache) and applies it to this cache's stores now.
    public func evictCache(_ text: String) async throws -> Eviction {
        let scope: CacheScope
        do {
            scope = try CacheScope(parsing: text)
        } catch {
            throw AdminError(error.description)
        }
        if !policy.upstreams.contains(scope.upstream),
            try await !cachedRepositories().contains(where: { $0.upstream == scope.upstream })
        {
            throw AdminError(
                "\(scope.upstream): no such upstream (configured: \(policy.upstreams.joined(separator: ", "))) and nothing cached from it")
        }
        let now = Date()
        let order = try await stores.evictions.appendEviction(scope: scope.description, digests: [], actor: actor.name, at: now)
        let removed = try await evictions(makeJanitor()).apply(
            EvictionOrder(id: order, scope: scope.description, actor: actor.name, at: now))
        try await audit(
            "cache.evict", scope.description,
            "order \(order): \(removed.tags) tag record(s), \(removed.blobs) blob(s), \(removed.bytes) bytes here")
        return Eviction(order: order, scope: scope, removed: removed)
    }

    /// The eviction log applied to this cache with `janitor` (a running server's has its memory).
    public func evictions(_ janitor: CacheJanitor) -> CacheEvictions {
        CacheEvictions(stores: stores, janitor: janitor, clustered: policy.clustered)
    }

    /// Whether this cache's running server has applied eviction order `order` (to its memory).
    public func evictionApplied(_ order: Int64) async throws -> Bool {
        (try await stores.cacheIndex.appliedEviction() ?? 0) >= order
    }
}

/// The eviction log's orders applied to one cache: each once, in order (`applyPending`, by the
/// running server), or one at once (`apply`, by the CLI or console that logged it).
public struct CacheEvictions: Sendable {
    let stores: Stores
    let janitor: CacheJanitor
    /// In a cluster a tag lives on one node and its layers on others: the node that held the tag
    /// logs what it named as a second order (same scope, with digests) for the others.
    let clustered: Bool

    /// Applies one order here; an order this version can't read is an `AdminError`.
    public func apply(_ order: EvictionOrder) async throws -> EvictionResult {
        let scope: CacheScope
        do {
            scope = try CacheScope(parsing: order.scope)
        } catch {
            throw AdminError("eviction order \(order.id): \(error.description)")
        }
        var named: Set<Digest>?
        if !order.digests.isEmpty {
            named = Set(order.digests.compactMap { try? Digest(parsing: $0) })
        }
        let result = try await janitor.evict(scope, named: named)
        if clustered, named == nil, !result.named.isEmpty {
            _ = try await stores.evictions.appendEviction(
                scope: scope.description, digests: result.named.map(\.description).sorted(), actor: order.actor, at: Date())
        }
        return result
    }

    /// Applies the orders this cache has not applied yet, oldest first, noting each as applied;
    /// `applied` hears of each. A cache that never applied one starts after the newest (there was
    /// nothing of its own to evict before).
    public func applyPending(_ applied: (EvictionOrder, Result<EvictionResult, AdminError>) -> Void) async throws {
        guard let last = try await stores.cacheIndex.appliedEviction() else {
            try await stores.cacheIndex.recordAppliedEviction(try await stores.evictions.latestEviction())
            return
        }
        for order in try await stores.evictions.evictions(after: last) {
            do {
                applied(order, .success(try await apply(order)))
            } catch let error as AdminError {
                applied(order, .failure(error))
            }
            try await stores.cacheIndex.recordAppliedEviction(order.id)
        }
    }
}
