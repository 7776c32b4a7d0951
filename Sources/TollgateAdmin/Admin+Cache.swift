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
    func makeJanitor() -> CacheJanitor {
        CacheJanitor(
            blobs: stores.blobs, index: stores.cacheIndex, maxSize: policy.maxCacheSize,
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
    }

    /// Every audience content can be cached for: shared, and each user's own.
    func allAudiences() async throws -> [Audience] {
        [.shared] + (try await listUsers()).compactMap { UserName($0.name).map(Audience.user) }
    }

    /// Every (upstream, repository) with cached content, for anyone.
    public func cachedRepositories() async throws -> [RepositoryKey] {
        try await stores.contentIndex.repositories(audiences: try await allAudiences())
    }

    /// A cached repository's tags, for every audience, by tag then audience.
    public func cachedTags(upstream: String, repository: String) async throws -> [CachedTag] {
        var result: [CachedTag] = []
        let users = Array(try await allAudiences().dropFirst())
        // Content fetched with users' own credentials is rare: one query says whether there is any
        // here before each user's tags are asked for.
        var anyOwn = false
        if !users.isEmpty {
            anyOwn = try await !stores.contentIndex.tags(upstream: upstream, repository: repository, audiences: users).isEmpty
        }
        for audience in [Audience.shared] + (anyOwn ? users : []) {
            for tag in try await stores.contentIndex.tags(upstream: upstream, repository: repository, audiences: [audience]) {
                guard let record = try await stores.contentIndex.tag(upstream: upstream, repository: repository, tag: tag, audience: audience)
                else { continue }
                let manifest = try await stores.contentIndex.manifest(record.digest)
                result.append(
                    CachedTag(
                        tag: tag, digest: record.digest, size: manifest?.size, mediaType: manifest?.mediaType,
                        fetchedAt: Date(timeIntervalSince1970: record.fetchedAt), audience: audience.key))
            }
        }
        return result.sorted { ($0.tag, $0.audience) < ($1.tag, $1.audience) }
    }
}
