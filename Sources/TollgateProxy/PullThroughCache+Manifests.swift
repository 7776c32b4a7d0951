import Foundation
import NIOCore
import RegistryCore
import TollgateUpstream

/// A manifest ready to be sent.
public struct ManifestResult: Sendable {
    public var digest: Digest
    public var mediaType: String
    public var bytes: ByteBuffer
    public var outcome: CacheOutcome
    /// Text for a `Warning: 299` header (served stale).
    public var warning: String?
    /// The manifest's length when `bytes` is empty: a HEAD answered from an upstream HEAD.
    public var announcedLength: Int? = nil

    /// The manifest's length in bytes (the `Content-Length` of a GET).
    public var length: Int { announcedLength ?? bytes.readableBytes }
}

struct FetchedManifest: Sendable {
    var digest: Digest
    var mediaType: String
    var bytes: ByteBuffer
}

struct ManifestKey: Hashable, Sendable {
    var upstream: String
    var repository: RepositoryName
    var reference: Reference
    /// Fetches with different credentials are never merged.
    var audience: Audience
}

extension PullThroughCache {
    /// A manifest by tag or digest. `accept` is what the client accepts: a tag whose manifest
    /// type isn't in it resolves, as distribution does, to the linux/amd64 child of a list, or
    /// to MANIFEST_UNKNOWN. A digest names exact bytes and is served whatever its type.
    public func manifest(
        from upstream: Upstream, _ repository: RepositoryName, _ reference: Reference, accept: AcceptList
    ) async throws -> ManifestResult {
        switch reference {
        case .digest(let digest):
            return try await manifestByDigest(upstream, repository, digest)
        case .tag(let tag):
            // Without `head`, every path ends in a result or an error.
            guard let result = try await manifestByTag(upstream, repository, tag, head: false),
                let fitted = try await negotiate(result, upstream, repository, accept: accept, head: false)
            else { throw RegistryError(.unknown, "no manifest for tag \(tag)") }
            return fitted
        }
    }

    /// Answers a manifest HEAD without an upstream manifest GET where it can: from the cache, or
    /// from an upstream HEAD (Docker Hub counts GETs against its pull limit, not HEADs). Nil when
    /// only a GET can answer (a list the client doesn't accept, an upstream HEAD without digest,
    /// type or length): the caller is then charged a pull and asks `manifest(…)`.
    public func manifestHead(
        from upstream: Upstream, _ repository: RepositoryName, _ reference: Reference, accept: AcceptList
    ) async throws -> ManifestResult? {
        switch reference {
        case .digest(let digest):
            if let cached = try await cachedManifest(upstream, repository, digest) {
                return ManifestResult(digest: digest, mediaType: cached.mediaType, bytes: cached.bytes, outcome: .hit)
            }
            let response = try await UpstreamFailure.sendExpectingOK(
                upstream: upstream.name, notFound: .manifestUnknown(digest.description)
            ) { try await headManifest(upstream, repository, reference) }
            await response.discard()
            guard let answer = Self.headAnswer(response), answer.digest == digest else { return nil }
            index.announceManifest(digest)
            return answer
        case .tag(let tag):
            guard let result = try await manifestByTag(upstream, repository, tag, head: true) else { return nil }
            return try await negotiate(result, upstream, repository, accept: accept, head: true)
        }
    }

    private func headManifest(_ upstream: Upstream, _ repository: RepositoryName, _ reference: Reference)
        async throws -> UpstreamResponse
    {
        try await upstream.client.manifest(
            repository, reference, accept: MediaType.allManifests.joined(separator: ", "), method: .HEAD,
            as: upstream.identity)
    }

    /// What an upstream manifest HEAD says, if it says all a HEAD answer needs.
    static func headAnswer(_ response: UpstreamResponse) -> ManifestResult? {
        guard response.status == 200, let digest = response.digestHeader, let type = response.contentType,
            MediaType.isManifest(type), let length = response.contentLength, length > 0,
            length <= Int64(maxManifestSize)
        else { return nil }
        return ManifestResult(
            digest: digest, mediaType: type, bytes: ByteBuffer(), outcome: .pass, announcedLength: Int(length))
    }

    private func manifestByDigest(_ upstream: Upstream, _ repository: RepositoryName, _ digest: Digest) async throws
        -> ManifestResult
    {
        if let cached = try await cachedManifest(upstream, repository, digest) {
            return ManifestResult(digest: digest, mediaType: cached.mediaType, bytes: cached.bytes, outcome: .hit)
        }
        let fetched = try await fetchManifest(upstream, repository, .digest(digest))
        return ManifestResult(digest: digest, mediaType: fetched.mediaType, bytes: fetched.bytes, outcome: .miss)
    }

    /// Fits a tag's manifest to the client's Accept.
    /// With `head`, nil when picking a list's child would take an upstream GET (or the list's
    /// bytes aren't here to pick from).
    private func negotiate(
        _ result: ManifestResult, _ upstream: Upstream, _ repository: RepositoryName, accept: AcceptList, head: Bool
    ) async throws -> ManifestResult? {
        if accept.accepts(result.mediaType) { return result }
        if result.mediaType == MediaType.dockerManifestList || result.mediaType == MediaType.ociIndex {
            guard let child = ImageIndex.defaultPlatformChild(of: Data(result.bytes.readableBytesView)) else { return head ? nil : try unacceptable(result) }
            var picked: ManifestResult
            if head {
                guard let cached = try await cachedManifest(upstream, repository, child) else { return nil }
                picked = ManifestResult(digest: child, mediaType: cached.mediaType, bytes: cached.bytes, outcome: .hit)
            } else {
                picked = try await manifestByDigest(upstream, repository, child)
            }
            if accept.accepts(picked.mediaType) {
                picked.outcome = result.outcome
                picked.warning = result.warning
                return picked
            }
        }
        return try unacceptable(result)
    }

    private func unacceptable(_ result: ManifestResult) throws -> ManifestResult {
        throw RegistryError(
            .manifestUnknown, "manifest unknown: its type \(result.mediaType) is not in the request's Accept header")
    }

    /// A tag's manifest: from the cache within the TTL, revalidated by an upstream HEAD after it,
    /// else fetched. With `head`, nothing is fetched: a tag that moved or was never seen is
    /// answered from the upstream HEAD (nil when that HEAD can't answer).
    private func manifestByTag(_ upstream: Upstream, _ repository: RepositoryName, _ tag: Tag, head: Bool)
        async throws -> ManifestResult?
    {
        let now = clock()
        let known = try await index.tag(
            upstream: upstream.name, repository: repository.value, tag: tag.value, audience: upstream.audience)
        let cached: (mediaType: String, bytes: ByteBuffer)? =
            if let known { try await cachedManifest(upstream, repository, known.digest) } else { nil }

        if let known, let cached {
            if now - known.fetchedAt < upstream.manifestTTL.seconds {
                return ManifestResult(digest: known.digest, mediaType: cached.mediaType, bytes: cached.bytes, outcome: .hit)
            }
            // Expired: one HEAD (not counted by Docker Hub's pull limit) revalidates.
            let stale = ManifestResult(
                digest: known.digest, mediaType: cached.mediaType, bytes: cached.bytes, outcome: .stale,
                warning: "served from cache: upstream \(upstream.name) unavailable")
            let response: UpstreamResponse
            do {
                response = try await headManifest(upstream, repository, .tag(tag))
            } catch let e as UpstreamError {
                logger.warning(
                    "serving stale tag", metadata: ["upstream": "\(upstream.name)", "repository": "\(repository)",
                    "tag": "\(tag)", "error": "\(e.message)"])
                return stale
            }
            await response.discard()
            switch response.status {
            case 200:
                if let current = response.digestHeader, current != known.digest {
                    if head {
                        let answer = Self.headAnswer(response)
                        if let answer { index.announceManifest(answer.digest) }
                        return answer
                    }
                    // The tag moved: fetch the new manifest (by digest when we know it).
                    let f = try await fetchManifest(upstream, repository, .digest(current))
                    try await index.putTag(TagRecord(
                        upstream: upstream.name, repository: repository.value, tag: tag.value, digest: f.digest,
                        fetchedAt: now, audience: upstream.audience))
                    return ManifestResult(digest: f.digest, mediaType: f.mediaType, bytes: f.bytes, outcome: .miss)
                }
                try await index.putTag(TagRecord(
                    upstream: upstream.name, repository: repository.value, tag: tag.value, digest: known.digest,
                    fetchedAt: now, audience: upstream.audience))
                return ManifestResult(
                    digest: known.digest, mediaType: cached.mediaType, bytes: cached.bytes, outcome: .revalidated)
            case 404:
                try await index.deleteTag(
                    upstream: upstream.name, repository: repository.value, tag: tag.value, audience: upstream.audience)
                throw RegistryError.manifestUnknown(tag.value)
            case let status where UpstreamFailure.allowsStale(status: status):
                logger.warning(
                    "serving stale tag", metadata: ["upstream": "\(upstream.name)", "repository": "\(repository)",
                    "tag": "\(tag)", "status": "\(status)"])
                return stale
            default:
                throw UpstreamFailure.error(response, upstream: upstream.name, notFound: .manifestUnknown(tag.value))
            }
        }

        if head {
            // Never seen: the upstream HEAD answers. The tag is noted (its manifest is fetched by
            // the GET that follows), so its digest is known as a manifest's from now on.
            let response = try await UpstreamFailure.sendExpectingOK(
                upstream: upstream.name, notFound: .manifestUnknown(tag.value)
            ) { try await headManifest(upstream, repository, .tag(tag)) }
            await response.discard()
            guard let answer = Self.headAnswer(response) else { return nil }
            index.announceManifest(answer.digest)
            try await index.putTag(TagRecord(
                upstream: upstream.name, repository: repository.value, tag: tag.value, digest: answer.digest,
                fetchedAt: now, audience: upstream.audience))
            return answer
        }
        // Never seen (or its manifest is gone from disk): one GET by tag.
        let f = try await fetchManifest(upstream, repository, .tag(tag))
        try await index.putTag(TagRecord(
            upstream: upstream.name, repository: repository.value, tag: tag.value, digest: f.digest, fetchedAt: now,
            audience: upstream.audience))
        return ManifestResult(digest: f.digest, mediaType: f.mediaType, bytes: f.bytes, outcome: .miss)
    }

    /// The manifest's type and bytes, if (upstream, repository) is linked to it and it is stored.
    func cachedManifest(_ upstream: Upstream, _ repository: RepositoryName, _ digest: Digest) async throws
        -> (mediaType: String, bytes: ByteBuffer)?
    {
        guard
            try await index.link(
                upstream: upstream.name, repository: repository.value, digest: digest, audiences: upstream.visible) != nil,
            let record = try await index.manifest(digest)
        else { return nil }
        accessed(digest, size: record.size)
        if let bytes = memory.get(digest) { return (record.mediaType, bytes) }
        guard let reader = try await blobs.reader(digest) else { return nil }
        let bytes = try await reader.read(at: 0, count: Int(min(record.size, Int64(Self.maxManifestSize))))
        // Manifests are written without fsync (see `storeSmall`): check what a crash may have left.
        var hasher = DigestHasher(for: digest)
        bytes.withUnsafeReadableBytes { hasher.update($0) }
        guard bytes.readableBytes == record.size, hasher.finalize() == digest else {
            logger.warning("stored manifest is damaged; fetching it again", metadata: ["digest": "\(digest)"])
            return nil
        }
        memory.put(digest, bytes, cost: bytes.readableBytes)
        declaredSizes.record(manifest: bytes, upstream: upstream.name, repository: repository.value)
        return (record.mediaType, bytes)
    }

    /// GETs a manifest upstream (asking for all four manifest types, so no registry converts it
    /// to schema 1), verifies it, stores it and links it to the repository. Concurrent requests
    /// for the same reference share one upstream GET (each counts against Docker Hub's limit).
    func fetchManifest(_ upstream: Upstream, _ repository: RepositoryName, _ reference: Reference) async throws
        -> FetchedManifest
    {
        try await manifestFetches.run(
            ManifestKey(upstream: upstream.name, repository: repository, reference: reference, audience: upstream.audience)
        ) {
            try await fetchManifestOnce(upstream, repository, reference)
        }
    }

    private func fetchManifestOnce(_ upstream: Upstream, _ repository: RepositoryName, _ reference: Reference)
        async throws -> FetchedManifest
    {
        let response = try await UpstreamFailure.sendExpectingOK(
            upstream: upstream.name, notFound: .manifestUnknown(reference.description)
        ) {
            try await upstream.client.manifest(
                repository, reference, accept: MediaType.allManifests.joined(separator: ", "), method: .GET,
                as: upstream.identity)
        }
        let bytes = try await response.document(
            upTo: Self.maxManifestSize, upstream: upstream.name,
            tooLarge: RegistryError(.manifestInvalid, "upstream manifest is larger than \(Self.maxManifestSize) bytes"))
        let digest: Digest
        if case .digest(let wanted) = reference {
            digest = wanted
        } else {
            digest = response.digestHeader ?? Digest.sha256(of: bytes.readableBytesView)
        }
        var hasher = DigestHasher(for: digest)
        bytes.withUnsafeReadableBytes { hasher.update($0) }
        guard hasher.finalize() == digest else {
            logger.error(
                "upstream manifest does not match its digest; not cached",
                metadata: ["upstream": "\(upstream.name)", "repository": "\(repository)", "reference": "\(reference)"])
            throw RegistryError(.badGateway, "upstream \(upstream.name) sent a manifest that does not match its digest")
        }
        let mediaType = try ManifestMediaType.detect(contentType: response.contentType, body: Data(bytes.readableBytesView))
        try await keep(bytes, digest: digest, mediaType: mediaType, upstream, repository)
        return FetchedManifest(digest: digest, mediaType: mediaType, bytes: bytes)
    }

    /// Stores verified manifest bytes, indexes them and links them to `repository` for the
    /// upstream's audience.
    private func keep(
        _ bytes: ByteBuffer, digest: Digest, mediaType: String, _ upstream: Upstream, _ repository: RepositoryName
    ) async throws {
        do {
            try await storeSmall(bytes, as: digest)
        } catch {
            logger.error("could not store a manifest", metadata: ["digest": "\(digest)", "error": "\(error)"])
            throw StorageFailure.registryError(error)
        }
        declaredSizes.record(manifest: bytes, upstream: upstream.name, repository: repository.value)
        accessed(digest, size: Int64(bytes.readableBytes))
        try await index.putManifest(ManifestRecord(digest: digest, mediaType: mediaType, size: Int64(bytes.readableBytes)))
        try await index.putLink(
            upstream: upstream.name, repository: repository.value, digest: digest, size: Int64(bytes.readableBytes),
            audience: upstream.audience)
        memory.put(digest, bytes, cost: bytes.readableBytes)
    }

    /// Keeps a manifest another node served to `upstream`'s caller (cluster mode: the owner checked
    /// visibility with the same identity), if the bytes match `digest` and are a manifest; a
    /// digest's bytes never change, so this node answers the next request for it itself.
    public func keepForwarded(
        _ bytes: ByteBuffer, digest: Digest, contentType: String?, from upstream: Upstream, _ repository: RepositoryName
    ) async {
        guard bytes.readableBytes <= Self.maxManifestSize else { return }
        var hasher = DigestHasher(for: digest)
        bytes.withUnsafeReadableBytes { hasher.update($0) }
        guard hasher.finalize() == digest,
            let mediaType = try? ManifestMediaType.detect(contentType: contentType, body: Data(bytes.readableBytesView))
        else { return }
        try? await keep(bytes, digest: digest, mediaType: mediaType, upstream, repository)
    }

    /// Stores a manifest, already verified, under its digest. No fsync: it would sit in the
    /// client's critical path, and `cachedManifest` verifies every read from disk instead.
    func storeSmall(_ bytes: ByteBuffer, as digest: Digest) async throws {
        if try await blobs.size(of: digest) == Int64(bytes.readableBytes) { return }
        let writer = try await blobs.writer()
        do {
            try await writer.append(bytes)
            try await writer.commit(as: digest, durable: false)
        } catch {
            await writer.abort()
            throw error
        }
    }
}


