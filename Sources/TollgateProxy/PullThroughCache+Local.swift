import NIOCore
import RegistryCore

/// What this node can answer without asking anyone: a cluster node serves these itself and
/// forwards the rest to the content's owner.
extension PullThroughCache {
    /// A blob `upstream`'s caller may see that is stored here, or downloading here; nil otherwise
    /// (nothing is asked upstream).
    public func localBlob(from upstream: Upstream, _ repository: RepositoryName, _ digest: Digest, head: Bool)
        async throws -> BlobResult?
    {
        if try await index.isManifest(digest) {
            throw RegistryError(
                .blobUnknown, "blob unknown: \(digest) is a manifest; fetch it from the manifests endpoint",
                detail: digest.description)
        }
        if try await index.link(upstream: upstream.name, repository: repository.value, digest: digest, audiences: upstream.visible)
            != nil, let local = try await localBlob(digest, head: head)
        {
            return BlobResult(digest: digest, size: local.size, body: local.body, outcome: .hit)
        }
        let key = FillKey(upstream: upstream.name, repository: repository, digest: digest, audience: upstream.audience)
        guard let running = fills.withLock({ $0[key] }) else { return nil }
        metrics?.fillJoins.increment()
        let size = try await running.waitUntilStarted()
        return BlobResult(
            digest: digest, size: size, body: head ? .none : .fill(running), outcome: .miss, bound: size ?? maxBlobSize)
    }

    /// A manifest by digest that `upstream`'s caller may see, stored here; nil otherwise.
    public func localManifest(from upstream: Upstream, _ repository: RepositoryName, _ digest: Digest) async throws
        -> ManifestResult?
    {
        guard let cached = try await cachedManifest(upstream, repository, digest) else { return nil }
        return ManifestResult(digest: digest, mediaType: cached.mediaType, bytes: cached.bytes, outcome: .hit)
    }
}
