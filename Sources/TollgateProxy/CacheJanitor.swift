import Foundation
import Logging
import RegistryCore
import ServiceLifecycle
import Synchronization
import CoreMetrics
import NIOCore

/// Keeps the disk cache within `storage.max_size` and honest:
/// - every few seconds it writes down which blobs were used (batched last-access times);
/// - when the cache with the downloads in flight (the cache's `DiskBudget`) is larger than
///   `maxSize` — checked every few seconds and whenever a download needs room — it evicts least
///   recently used blobs until it is below 95 % of it — never one used in the last `graceSeconds` (10 s: a client that just got a
///   manifest is about to ask for its layers; a transfer running now keeps
///   reading a removed file to its end anyway: unlink leaves open files readable), and never a
///   manifest a cached tag points at;
/// - at start it reconciles the index with the files on disk, and after a start without a clean
///   shutdown marker (a crash) it re-hashes the blobs written since the last clean stop, moving
///   damaged ones to `damaged/`;
/// - at graceful shutdown it writes the access times and the marker.
///
/// It works on the stores alone (`tollgate cache prune` runs one beside a server); a running
/// cache connects its `CacheMemory` and its `DiskBudget`.
public final class CacheJanitor: Service {
    let blobs: any BlobStore
    let store: any CacheIndexStore
    /// Tags and links, for evicting an admin's scope.
    let content: any ContentIndexStore
    let memory: (any CacheMemory)?
    let disk: DiskBudget
    let metrics: JanitorMetrics?
    let clock: @Sendable () -> Double
    let maxSize: Int64?
    let logger: Logger
    let interval: Duration
    let graceSeconds: Double
    /// Totals, for metrics and tests.
    private let counters = Mutex<(evictedBlobs: Int64, evictedBytes: Int64, damaged: Int64)>((0, 0, 0))
    /// The eviction running now: callers that need room meanwhile wait for it instead of
    /// starting another.
    private let running = Mutex<Task<Void, Never>?>(nil)

    public init(
        blobs: any BlobStore, index store: any CacheIndexStore, content: any ContentIndexStore, maxSize: Int64?,
        logger: Logger,
        memory: (any CacheMemory)? = nil, disk: DiskBudget = DiskBudget(), metrics factory: (any MetricsFactory)? = nil,
        clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
        interval: Duration = .seconds(2), graceSeconds: Double = 10
    ) {
        self.blobs = blobs
        self.store = store
        self.content = content
        self.memory = memory
        self.disk = disk
        self.metrics = factory.map(JanitorMetrics.init)
        self.clock = clock
        self.maxSize = maxSize
        self.logger = logger
        self.interval = interval
        self.graceSeconds = graceSeconds
        disk.connect(maxSize: maxSize) { [weak self] in await self?.makeRoom() }
    }

    /// Writes down access times and evicts if the cache with the downloads in flight is above
    /// `maxSize`; joins the pass already running, if any.
    public func makeRoom() async {
        let task = running.withLock { current -> Task<Void, Never> in
            if let current { return current }
            let task = Task {
                await self.flushAccesses()
                await self.evictIfNeeded()
                self.running.withLock { $0 = nil }
            }
            current = task
            return task
        }
        await task.value
    }

    public var evicted: (blobs: Int64, bytes: Int64) { counters.withLock { ($0.evictedBlobs, $0.evictedBytes) } }
    public var damaged: Int64 { counters.withLock { $0.damaged } }

    public func run() async throws {
        let previous = await blobs.beginRun()
        await reconcile()
        let check = Task { if case .crashed(let since) = previous { await verifyWritten(since: since) } }
        defer { check.cancel() }
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            await makeRoom()
        }
        // Even when shutdown ended in cancellation.
        await Task {
            await self.flushAccesses()
            await self.blobs.recordCleanStop(at: Date().timeIntervalSince1970)
        }.value
    }

    func reconcile() async {
        do {
            try await store.reconcile(with: try await blobs.list())
        } catch {
            logger.error("could not reconcile the cache index with the files", metadata: ["error": "\(error)"])
        }
    }

    /// After a crash: hash every blob written since the last clean stop (all of them when there
    /// was none) in the background; damaged ones are moved aside and forgotten.
    func verifyWritten(since: Double?) async {
        guard let all = try? await blobs.list() else { return }
        let suspects = all.filter { since == nil || $0.modified >= since! - 5 }
        guard !suspects.isEmpty else { return }
        logger.notice(
            "no clean-shutdown marker: checking stored blobs",
            metadata: ["blobs": "\(suspects.count)", "since": "\(since.map { "\(Int($0))" } ?? "ever")"])
        var bad = 0
        for blob in suspects where !Task.isCancelled {
            if let path = await verify(blob.digest) {
                bad += 1
                logger.error("damaged blob moved aside", metadata: ["digest": "\(blob.digest)", "to": "\(path)"])
            }
        }
        logger.info("stored blobs checked", metadata: ["checked": "\(suspects.count)", "damaged": "\(bad)"])
    }

    /// Hashes one blob; when it doesn't match its name it is quarantined and forgotten.
    /// Returns where it went.
    public func verify(_ digest: Digest) async -> String? {
        guard (try? await blobs.verify(digest)) == false else { return nil }
        guard let to = try? await blobs.quarantine(digest) else { return nil }
        try? await store.forget(digest)
        memory?.forgetEvicted([digest])
        counters.withLock { $0.damaged += 1 }
        metrics?.damaged.increment()
        return to
    }

    func flushAccesses() async {
        if let pulls = memory?.takeTagPulls(), !pulls.isEmpty {
            do {
                try await store.recordTagPulls(pulls)
            } catch {
                logger.error("could not store tag pulls", metadata: ["error": "\(error)"])
            }
        }
        guard let accesses = memory?.takeAccesses(), !accesses.isEmpty else { return }
        do {
            try await store.recordAccess(accesses)
        } catch {
            logger.error("could not store blob access times", metadata: ["error": "\(error)"])
        }
    }

    /// Evicts down to 95 % of `maxSize` when the stored blobs plus the downloads in flight are
    /// above it; returns what was removed.
    @discardableResult
    public func evictIfNeeded() async -> (blobs: Int, bytes: Int64) {
        guard let (blobs, total) = try? await store.cachedBytes() else { return (0, 0) }
        disk.recordStored(total)
        metrics?.diskBytes.record(total)
        metrics?.diskBlobs.record(blobs)
        let inFlight = disk.inFlight
        guard let maxSize, total + inFlight > maxSize else { return (0, 0) }
        let result = await evict(down: total + inFlight - maxSize * 95 / 100)
        disk.recordStored(total - result.bytes)
        if result.blobs > 0 {
            logger.info(
                "cache evicted",
                metadata: [
                    "blobs": "\(result.blobs)", "bytes": "\(result.bytes)", "size_before": "\(total)",
                    "in_flight": "\(inFlight)",
                ])
        } else {
            logger.debug(
                "cache above max_size, nothing evictable yet", metadata: ["size": "\(total)", "in_flight": "\(inFlight)"])
        }
        return result
    }

    /// Removes least recently used blobs until `amount` bytes are gone (or nothing is left to
    /// remove). Used by the server and by `tollgate cache prune`.
    public func evict(down amount: Int64, olderThan: Double? = nil, dryRun: Bool = false) async -> (blobs: Int, bytes: Int64) {
        let grace = clock() - graceSeconds
        let cutoff = min(olderThan ?? grace, grace)
        var freed: Int64 = 0, count = 0
        var evicted = Set<Digest>()
        var kept: [BlobAccess] = []
        var seen = Set<Digest>()
        while freed < amount {
            // Already-seen entries stay in the answer when nothing was removed (dry run, kept
            // manifests not yet re-timed): ask for more each time and skip them.
            guard let batch = try? await store.leastRecentlyUsed(limit: seen.count + 256, olderThan: cutoff),
                !batch.isEmpty
            else { break }
            var progress = false
            for candidate in batch where freed < amount && !seen.contains(candidate.digest) {
                seen.insert(candidate.digest)
                progress = true
                if (try? await store.isTagged(candidate.digest)) == true {
                    // A tagged manifest stays: count it as used so it leaves the front of the queue.
                    kept.append(BlobAccess(digest: candidate.digest, size: candidate.size, lastAccess: clock()))
                    continue
                }
                if dryRun {
                    freed += candidate.size
                    count += 1
                    continue
                }
                do {
                    try await blobs.remove(candidate.digest)
                    try await store.forget(candidate.digest)
                    evicted.insert(candidate.digest)
                    freed += candidate.size
                    count += 1
                } catch {
                    logger.error("could not evict", metadata: ["digest": "\(candidate.digest)", "error": "\(error)"])
                }
            }
            if !kept.isEmpty {
                try? await store.recordAccess(kept)
                kept.removeAll()
            }
            if !progress { break }
        }
        memory?.forgetEvicted(evicted)
        if dryRun { return (count, freed) }
        counters.withLock {
            $0.evictedBlobs += Int64(count)
            $0.evictedBytes += freed
        }
        metrics?.evictedBlobs.increment(by: Int64(count))
        metrics?.evictedBytes.increment(by: freed)
        return (count, freed)
    }
}

extension CacheJanitor {
    /// Removes what `scope` covers from this cache, for every audience: its tags, its links (for
    /// a tag: those to the tag's manifests, their children, configs and layers that no other tag of
    /// the repository still names) and referrers pages; then deletes the blobs nothing links any
    /// more. A running cache forgets its copies at once, and its next request for the scope goes
    /// upstream. Idempotent: a second run finds nothing.
    ///
    /// For a tag, `named` is what the tag named where it was cached (a cluster node that holds
    /// its layers need not hold the tag); without it, what this cache's records of the tag name,
    /// returned in the result's `named`.
    public func evict(_ scope: CacheScope, named: Set<Digest>? = nil) async throws -> EvictionResult {
        var unlink: Set<Digest> = []
        if let repository = scope.repository, let tag = scope.tag {
            let records = try await content.tagRecords(upstream: scope.upstream, repository: repository.value)
            let own: Set<Digest> =
                if let named { named } else { try await reachable(from: records.filter { $0.tag == tag.value }.map(\.digest)) }
            unlink = own.subtracting(try await reachable(from: records.filter { $0.tag != tag.value }.map(\.digest)))
        }
        memory?.forget(scope)
        let removed = try await content.evict(scope, tagLinks: unlink)
        memory?.forget(scope)  // what a request read from the store meanwhile
        var result = EvictionResult(tags: removed.tags)
        if named == nil { result.named = unlink }
        var deleted: Set<Digest> = []
        for digest in removed.unlinked.sorted(by: { $0.description < $1.description }) {
            guard try await !content.isLinked(digest), try await !store.isTagged(digest) else { continue }
            let size = try await blobs.size(of: digest)
            try await blobs.remove(digest)
            try await store.forget(digest)
            deleted.insert(digest)
            if let size {
                result.blobs += 1
                result.bytes += size
            }
        }
        memory?.forgetEvicted(deleted)
        counters.withLock {
            $0.evictedBlobs += Int64(result.blobs)
            $0.evictedBytes += result.bytes
        }
        metrics?.evictedBlobs.increment(by: Int64(result.blobs))
        metrics?.evictedBytes.increment(by: result.bytes)
        logger.info(
            "cache content evicted",
            metadata: ["scope": "\(scope)", "tags": "\(result.tags)", "blobs": "\(result.blobs)", "bytes": "\(result.bytes)"])
        return result
    }

    /// `roots` and everything their stored manifests name, transitively (an index's manifests,
    /// then their configs and layers). Manifests not stored here add nothing.
    func reachable(from roots: [Digest]) async throws -> Set<Digest> {
        var seen = Set(roots)
        var queue = roots
        while let digest = queue.popLast() {
            guard try await content.manifest(digest) != nil, let reader = try await blobs.reader(digest),
                reader.size <= PullThroughCache.maxManifestSize
            else { continue }
            let buffer = try await reader.read(at: 0, count: Int(reader.size))
            for child in ManifestDescriptors(buffer.readableBytesView)?.digests ?? [] where !seen.contains(child) {
                seen.insert(child)
                queue.append(child)
            }
        }
        return seen
    }
}

/// What a running cache keeps in memory that the janitor must see: access times not yet
/// written down, and copies of content the janitor removes.
public protocol CacheMemory: Sendable {
    /// The accesses noted since the last call.
    func takeAccesses() -> [BlobAccess]
    /// Drops memory's copies and links of removed content.
    func forgetEvicted(_ digests: Set<Digest>)
    /// Drops memory's tags and links inside `scope` (an admin's eviction).
    func forget(_ scope: CacheScope)
    /// The pulls by tag noted since the last call.
    func takeTagPulls() -> [TagPull]
}

extension BlobStore {
    /// Whether the stored bytes hash to the blob's name (true when it is gone meanwhile:
    /// nothing wrong is stored).
    public func verify(_ digest: Digest) async throws -> Bool {
        guard let reader = try await reader(digest) else { return true }
        var hasher = DigestHasher(for: digest)
        var offset: Int64 = 0
        var buffer = ByteBufferAllocator().buffer(capacity: 1 << 20)
        while true {
            buffer = try await reader.read(at: offset, count: 1 << 20, into: buffer)
            if buffer.readableBytes == 0 { break }
            buffer.withUnsafeReadableBytes { hasher.update($0) }
            offset += Int64(buffer.readableBytes)
        }
        return hasher.finalize() == digest
    }
}
