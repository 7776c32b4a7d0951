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
        blobs: any BlobStore, index store: any CacheIndexStore, maxSize: Int64?, logger: Logger,
        memory: (any CacheMemory)? = nil, disk: DiskBudget = DiskBudget(), metrics factory: (any MetricsFactory)? = nil,
        clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
        interval: Duration = .seconds(2), graceSeconds: Double = 10
    ) {
        self.blobs = blobs
        self.store = store
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

/// What a running cache keeps in memory that the janitor must see: access times not yet
/// written down, and copies of content the janitor removes.
public protocol CacheMemory: Sendable {
    /// The accesses noted since the last call.
    func takeAccesses() -> [BlobAccess]
    /// Drops memory's copies and links of removed content.
    func forgetEvicted(_ digests: Set<Digest>)
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
