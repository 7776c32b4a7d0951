import Logging
import NIOCore
import RegistryCore
import TollgateUpstream

/// Where a blob's bytes come from.
public enum BlobBody: Sendable {
    case memory(ByteBuffer)
    case stored(any BlobReader)
    /// A running upstream download: stream behind it.
    case fill(BlobFill)
    /// HEAD of an uncached blob: nothing to send.
    case none
}

public struct BlobResult: Sendable {
    public var digest: Digest
    /// Nil only for a download whose upstream sent no Content-Length (and no manifest declared).
    public var size: Int64?
    public var body: BlobBody
    public var outcome: CacheOutcome
    /// The most bytes the body can have: `size`, or the bound of a download of unknown size
    /// (`storage.max_blob_size`). What byte quotas reserve.
    public var bound: Int64?

    init(digest: Digest, size: Int64?, body: BlobBody, outcome: CacheOutcome, bound: Int64? = nil) {
        self.digest = digest
        self.size = size
        self.body = body
        self.outcome = outcome
        self.bound = bound ?? size
    }
}

extension PullThroughCache {
    /// A blob of `repository`. With `head`, nothing is downloaded for an uncached blob.
    public func blob(from upstream: Upstream, _ repository: RepositoryName, _ digest: Digest, head: Bool)
        async throws -> BlobResult
    {
        // A manifest is a pull (counted, and by Docker Hub too): `localBlob` never hands one out.
        if let local = try await localBlob(from: upstream, repository, digest, head: head) { return local }
        let key = FillKey(upstream: upstream.name, repository: repository, digest: digest, audience: upstream.audience)
        if let size = try await blobs.size(of: digest),
            try await index.hasLink(upstream: upstream.name, digest: digest)
        {
            // The bytes are here, came from this upstream, but not for this repository and caller:
            // knowing a digest is not access. The upstream must confirm, with the caller's
            // credentials, that this repository has exactly these bytes (a HEAD with their length).
            // Anything less (no length, another length), or bytes that came from another upstream,
            // is a miss: the named upstream must deliver them.
            let confirmed = try await upstreamHead(upstream, repository, digest)
            if confirmed == size {
                try await index.putLink(
                    upstream: upstream.name, repository: repository.value, digest: digest, size: size,
                    audience: upstream.audience)
                if let local = try await localBlob(digest, head: head) {
                    return BlobResult(digest: digest, size: local.size, body: local.body, outcome: .hit)
                }
            } else if head {
                return BlobResult(digest: digest, size: confirmed, body: .none, outcome: .pass)
            }
        }
        if head {
            let confirmed = try await upstreamHead(upstream, repository, digest)
            return BlobResult(digest: digest, size: confirmed, body: .none, outcome: .pass)
        }
        let fill = startFill(key, upstream)
        let size = try await fill.waitUntilStarted()
        return BlobResult(digest: digest, size: size, body: .fill(fill), outcome: .miss, bound: size ?? maxBlobSize)
    }

    /// A stored blob, from memory when small.
    func localBlob(_ digest: Digest, head: Bool) async throws -> (size: Int64, body: BlobBody)? {
        if let bytes = memory.get(digest) {
            accessed(digest, size: Int64(bytes.readableBytes))
            return (Int64(bytes.readableBytes), .memory(bytes))
        }
        guard let reader = try await blobs.reader(digest) else { return nil }
        let size = reader.size
        accessed(digest, size: size)
        if !head, size <= smallBlobLimit {
            let bytes = try await reader.read(at: 0, count: Int(size))
            if bytes.readableBytes == size {
                memory.put(digest, bytes, cost: bytes.readableBytes)
                return (size, .memory(bytes))
            }
        }
        return (size, .stored(reader))
    }

    /// Asks upstream whether `repository` has the blob; returns its size if the upstream said it.
    private func upstreamHead(_ upstream: Upstream, _ repository: RepositoryName, _ digest: Digest) async throws
        -> Int64?
    {
        let response = try await UpstreamFailure.sendExpectingOK(
            upstream: upstream.name, notFound: .blobUnknown(digest.description)
        ) { try await upstream.client.blob(repository, digest, method: .HEAD, as: upstream.identity) }
        await response.discard()
        return response.contentLength
    }

    /// Joins the running download of `key`, or registers a new one and queues it.
    private func startFill(_ key: FillKey, _ upstream: Upstream) -> BlobFill {
        let (fill, isNew) = fills.withLock { running -> (BlobFill, Bool) in
            if let existing = running[key] { return (existing, false) }
            let fill = BlobFill(digest: key.digest)
            running[key] = fill
            return (fill, true)
        }
        if isNew, case .terminated = jobQueue.yield(FillJob(key: key, fill: fill, upstream: upstream)) {
            fill.fail(RegistryError(.unavailable, "the mirror is shutting down"))
            _ = fills.withLock { $0.removeValue(forKey: key) }
        }
        return fill
    }

    /// Downloads one blob: upstream → temporary file (+ digest), verified, committed, linked.
    /// Bounded: by the size a manifest declared, else by `maxBlobSize`; by `storage.max_size`
    /// (the `DiskBudget`); and it stops when no client has attended it for `abandonGrace`.
    func runFill(_ job: FillJob) async {
        let key = job.key
        let fill = job.fill
        var logger = self.logger
        logger[metadataKey: "upstream"] = "\(key.upstream)"
        logger[metadataKey: "digest"] = "\(key.digest)"
        var writer: (any BlobWriter)?
        let started = ContinuousClock.now
        let reservation = DiskReservation(disk)
        do {
            let pipe = ChunkPipe(limit: 4 << 20)
            defer { pipe.close() }
            let response = try await UpstreamFailure.sendExpectingOK(
                upstream: key.upstream, notFound: .blobUnknown(key.digest.description)
            ) {
                try await job.upstream.client.blob(
                    key.repository, key.digest, method: .GET, as: job.upstream.identity, into: pipe)
            }
            let expected = try expectedSize(announced: response.contentLength, key: key)
            if let expected { try await reservation.cover(expected, exact: true) }
            let temp = try await blobs.writer()
            writer = temp
            fill.begin(file: temp, size: expected)
            let written = try await receive(
                pipe, into: temp, fill: fill, expected: expected, key: key, reservation: reservation)
            if fill.mayBeManifest {
                let bytes = try await temp.read(at: 0, count: Int(written))
                if ManifestSniff.isManifest(bytes.readableBytesView) {
                    index.announceManifest(key.digest)
                    throw RegistryError(
                        .blobUnknown, "blob unknown: \(key.digest) is a manifest; fetch it from the manifests endpoint",
                        detail: key.digest.description)
                }
            }
            // Verified: readers may have the last byte now, while the file is made durable.
            fill.complete(file: temp, size: written)
            try await temp.commit(as: key.digest, durable: true)
            writer = nil
            reservation.release(stored: written)
            accessed(key.digest, size: written)
            metrics?.fills.increment()
            try await index.putLink(
                upstream: key.upstream, repository: key.repository.value, digest: key.digest, size: written,
                audience: key.audience)
            logger.debug("blob cached", metadata: ["bytes": "\(written)", "duration": "\(ContinuousClock.now - started)"])
        } catch {
            if let writer { await writer.abort() }
            reservation.release()
            if !(error is RegistryError) || (error as? RegistryError)?.code != .blobUnknown {
                logger.warning("blob download failed", metadata: ["error": "\(error)"])
            }
            fill.fail(StorageFailure.registryError(error))
            metrics?.fillFailures.increment()
        }
        _ = fills.withLock { $0.removeValue(forKey: key) }
    }

    /// The size a download must have: what the upstream announced and what a manifest declared
    /// (refused when they disagree, or when more than `maxBlobSize`); nil when neither said.
    private func expectedSize(announced: Int64?, key: FillKey) throws -> Int64? {
        let declared = declaredSizes.size(upstream: key.upstream, repository: key.repository.value, digest: key.digest)
        if let announced, let declared, announced != declared {
            throw RegistryError(
                .badGateway,
                "upstream \(key.upstream) announced \(announced) bytes for \(key.digest), its manifest declared \(declared)")
        }
        let expected = announced ?? declared
        if declared == nil, let expected, expected > maxBlobSize {
            throw RegistryError(
                .badGateway,
                "upstream \(key.upstream) announced \(expected) bytes for \(key.digest), more than storage.max_blob_size (\(maxBlobSize))")
        }
        return expected
    }

    /// Writes the body arriving in `pipe` to `file`, hashing as it goes; returns the byte count
    /// after checking it against the expected size (else `maxBlobSize`) and the digest. Stops
    /// when the fill is abandoned or the disk budget can't cover the bytes.
    private func receive(
        _ pipe: ChunkPipe, into file: any BlobWriter, fill: BlobFill, expected: Int64?, key: FillKey,
        reservation: DiskReservation
    ) async throws -> Int64 {
        var hasher = DigestHasher(for: key.digest)
        var written: Int64 = 0
        let limit = expected ?? maxBlobSize
        var mayBeManifest = fill.mayBeManifest
        do {
            while let parts = try await pipe.take() {
                var batch: ByteBuffer
                if parts.count == 1 {
                    batch = parts[0]
                } else {
                    batch = ByteBuffer()
                    batch.reserveCapacity(parts.reduce(0) { $0 + $1.readableBytes })
                    for var p in parts { batch.writeBuffer(&p) }
                }
                let total = written + Int64(batch.readableBytes)
                if total > limit {
                    throw RegistryError(
                        .badGateway,
                        expected == nil
                            ? "upstream \(key.upstream) sent more than storage.max_blob_size (\(maxBlobSize) bytes) for \(key.digest)"
                            : "upstream \(key.upstream) sent more bytes than announced")
                }
                if fill.isAbandoned(now: .now, grace: abandonGrace) {
                    throw RegistryError(.unavailable, "download of \(key.digest) stopped: no client is waiting for it")
                }
                try await reservation.cover(total)
                batch.withUnsafeReadableBytes { hasher.update($0) }
                try await file.append(batch)
                if mayBeManifest, !ManifestSniff.mayBe(prefix: batch.readableBytesView, at: written, total: total) {
                    mayBeManifest = false
                    fill.notManifest()
                }
                written += Int64(batch.readableBytes)
                fill.progress(written: written)
            }
        } catch let e as RegistryError {
            throw e
        } catch let e as BlobStoreError {
            throw e
        } catch {
            throw RegistryError(
                .badGateway, "download from upstream \(key.upstream) broke off",
                detail: "\(RegistryClient.classify(error, upstream: key.upstream).message)")
        }
        if let expected, written != expected {
            throw RegistryError(.badGateway, "upstream \(key.upstream) sent \(written) of \(expected) announced bytes")
        }
        guard hasher.finalize() == key.digest else {
            logger.error(
                "upstream blob does not match its digest; not cached",
                metadata: ["upstream": "\(key.upstream)", "digest": "\(key.digest)", "bytes": "\(written)"])
            throw RegistryError(
                .badGateway, "upstream \(key.upstream) sent content that does not match digest \(key.digest)")
        }
        return written
    }

    /// Sends `range` (nil: everything) of a blob through `write`, in chunks, as bytes become
    /// available. Throws when a download fails midway: the client must see a broken transfer.
    public func stream(
        _ body: BlobBody, range: ByteRange?, write: (ByteBuffer) async throws -> Void
    ) async throws {
        switch body {
        case .none:
            return
        case .memory(let bytes):
            if let range {
                if let slice = bytes.getSlice(at: Int(range.start), length: Int(range.count)) { try await write(slice) }
            } else {
                try await write(bytes)
            }
        case .stored(let reader):
            try await copy(reader, from: range?.start ?? 0, to: (range?.end ?? (reader.size - 1)) + 1, write: write)
        case .fill(let fill):
            try await fill.attend {
                // A ranged reader gets nothing before the whole blob is verified: a complete 206
                // is never made of bytes that fail the digest check.
                if range != nil { _ = try await fill.waitUntilVerified() }
                var offset = range?.start ?? 0
                var end = range.map { $0.end + 1 }
                while end == nil || offset < end! {
                    switch await fill.next(after: offset) {
                    case .failed(let error):
                        throw error
                    case .readable(let file, let readableEnd, let size, let complete):
                        if complete, end == nil { end = size }
                        let upTo = min(readableEnd, end ?? readableEnd)
                        if upTo > offset {
                            try await copy(file, from: offset, to: upTo, write: write)
                            offset = upTo
                        }
                        if complete, offset >= (size ?? 0) { return }
                    }
                }
            }
        }
    }

    /// Copies bytes `[from, to)` of `file` in chunks. Two buffers take turns: by the time one is
    /// read into again the socket has usually let go of it, so its storage is reused instead of
    /// allocating (and fragmenting the heap with) a fresh megabyte per chunk.
    private func copy(_ file: any BlobReadable, from: Int64, to: Int64, write: (ByteBuffer) async throws -> Void) async throws {
        var offset = from
        let chunkSize = Int(min(Int64(Self.readChunk), to - from))
        var buffers = [ByteBuffer(), ByteBuffer()]
        var turn = 0
        while offset < to {
            let count = Int(min(Int64(chunkSize), to - offset))
            var spare = ByteBuffer()
            swap(&spare, &buffers[turn])
            if spare.capacity < count { spare = ByteBufferAllocator().buffer(capacity: chunkSize) }
            let chunk = try await file.read(at: offset, count: count, into: consume spare)
            guard chunk.readableBytes == count else {
                throw RegistryError(.unknown, "stored blob is shorter than expected")
            }
            try await write(chunk)
            buffers[turn] = chunk
            turn ^= 1
            offset += Int64(count)
        }
    }
}
