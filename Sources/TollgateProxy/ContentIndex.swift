import RegistryCore
import Synchronization

/// In-memory front of the `ContentIndexStore` for the hot path: tags, manifest records and links are
/// read from memory after the first lookup; every change is written through to the store.
final class ContentIndex: Sendable {
    struct TagKey: Hashable, Sendable {
        var upstream: String
        var repository: String
        var tag: String
        var audience: Audience
    }
    struct LinkKey: Hashable, Sendable {
        var upstream: String
        var repository: String
        var digest: Digest
        var audience: Audience
    }

    struct SourceKey: Hashable, Sendable {
        var upstream: String
        var digest: Digest
    }

    let store: any ContentIndexStore
    private let tags = Mutex<[TagKey: TagRecord]>([:])
    private let manifests = Mutex<[Digest: ManifestRecord]>([:])
    private let links = Mutex<[LinkKey: Int64]>([:])
    /// Digests the store has no manifest record for, so the blob path asks memory only.
    private let notManifests = Mutex<Set<Digest>>([])
    /// Digests an upstream HEAD named as a manifest's (answered without fetching it).
    private let announcedManifests = Mutex<Set<Digest>>([])
    /// (upstream, digest) pairs with at least one link: the upstream is known to have the bytes.
    private let sources = Mutex<[SourceKey: Bool]>([:])
    /// Entries per map before it is dropped and refilled from the store.
    private let capacity = 200_000

    init(store: any ContentIndexStore) { self.store = store }

    private func remember<K: Hashable & Sendable, V: Sendable>(_ map: borrowing Mutex<[K: V]>, _ key: K, _ value: V?) {
        map.withLock { m in
            if m.count >= capacity { m.removeAll(keepingCapacity: true) }
            m[key] = value
        }
    }

    /// The tag as resolved for `audience` (tags are never shared across audiences).
    func tag(upstream: String, repository: String, tag: String, audience: Audience) async throws -> TagRecord? {
        let key = TagKey(upstream: upstream, repository: repository, tag: tag, audience: audience)
        if let hit = tags.withLock({ $0[key] }) { return hit }
        let record = try await store.tag(upstream: upstream, repository: repository, tag: tag, audience: audience)
        if let record { remember(tags, key, record) }
        return record
    }

    func putTag(_ r: TagRecord) async throws {
        remember(tags, TagKey(upstream: r.upstream, repository: r.repository, tag: r.tag, audience: r.audience), r)
        try await store.putTag(r)
    }

    func deleteTag(upstream: String, repository: String, tag: String, audience: Audience) async throws {
        remember(tags, TagKey(upstream: upstream, repository: repository, tag: tag, audience: audience), nil)
        try await store.deleteTag(upstream: upstream, repository: repository, tag: tag, audience: audience)
    }

    func manifest(_ digest: Digest) async throws -> ManifestRecord? {
        if let hit = manifests.withLock({ $0[digest] }) { return hit }
        let record = try await store.manifest(digest)
        if let record { remember(manifests, digest, record) }
        return record
    }

    func putManifest(_ r: ManifestRecord) async throws {
        remember(manifests, r.digest, r)
        _ = notManifests.withLock { $0.remove(r.digest) }
        try await store.putManifest(r)
    }

    /// Notes a digest an upstream named as a manifest's before its bytes were fetched.
    func announceManifest(_ digest: Digest) {
        announcedManifests.withLock { s in
            if s.count >= capacity { s.removeAll(keepingCapacity: true) }
            s.insert(digest)
        }
        _ = notManifests.withLock { $0.remove(digest) }
    }

    /// Whether `digest` is known as a manifest's (the blob endpoint never serves those).
    func isManifest(_ digest: Digest) async throws -> Bool {
        if notManifests.withLock({ $0.contains(digest) }) { return false }
        if knownAsManifest(digest) { return true }
        if try await manifest(digest) != nil { return true }
        notManifests.withLock { s in
            if s.count >= capacity { s.removeAll(keepingCapacity: true) }
            s.insert(digest)
        }
        // A manifest stored meanwhile: `putManifest` records it before clearing the negative.
        if knownAsManifest(digest) {
            _ = notManifests.withLock { $0.remove(digest) }
            return true
        }
        return false
    }

    private func knownAsManifest(_ digest: Digest) -> Bool {
        manifests.withLock({ $0[digest] }) != nil || announcedManifests.withLock({ $0.contains(digest) })
    }

    /// The linked size, or nil when (upstream, repository) has no link to `digest` for any of
    /// `audiences`: content on disk is only served to the audiences it was fetched for.
    func link(upstream: String, repository: String, digest: Digest, audiences: [Audience]) async throws -> Int64? {
        for audience in audiences {
            let key = LinkKey(upstream: upstream, repository: repository, digest: digest, audience: audience)
            if let hit = links.withLock({ $0[key] }) { return hit }
            let record = try await store.link(upstream: upstream, repository: repository, digest: digest, audience: audience)
            if let record {
                remember(links, key, record.size)
                return record.size
            }
        }
        return nil
    }

    /// Whether some repository of `upstream` (any audience) is linked to `digest`: the bytes on
    /// disk came from, or were confirmed by, that upstream.
    func hasLink(upstream: String, digest: Digest) async throws -> Bool {
        let key = SourceKey(upstream: upstream, digest: digest)
        if sources.withLock({ $0[key] }) != nil { return true }
        guard try await store.hasLink(upstream: upstream, digest: digest) else { return false }
        remember(sources, key, true)
        return true
    }

    /// Forgets remembered links to evicted content (the store's rows are deleted by the janitor).
    func forgetLinks(to digests: Set<Digest>) {
        links.withLock { m in m = m.filter { !digests.contains($0.key.digest) } }
        sources.withLock { m in m = m.filter { !digests.contains($0.key.digest) } }
        manifests.withLock { m in for d in digests { m[d] = nil } }
    }

    /// Forgets every remembered tag and link inside `scope` (an admin's eviction), and which
    /// upstreams are known to have content (the scope's links may have been the proof).
    func forget(_ scope: CacheScope) {
        tags.withLock { m in m = m.filter { !scope.contains(upstream: $0.key.upstream, repository: $0.key.repository, tag: $0.key.tag) } }
        links.withLock { m in m = m.filter { !scope.contains(upstream: $0.key.upstream, repository: $0.key.repository) } }
        sources.withLock { m in m = m.filter { $0.key.upstream != scope.upstream } }
    }

    /// Forgets every remembered tag and link of `audience` (a deleted user's).
    func forget(audience: Audience) {
        tags.withLock { m in m = m.filter { $0.key.audience != audience } }
        links.withLock { m in m = m.filter { $0.key.audience != audience } }
    }

    func putLink(upstream: String, repository: String, digest: Digest, size: Int64, audience: Audience) async throws {
        let key = LinkKey(upstream: upstream, repository: repository, digest: digest, audience: audience)
        if links.withLock({ $0[key] }) == size { return }
        remember(links, key, size)
        remember(sources, SourceKey(upstream: upstream, digest: digest), true)
        try await store.putLink(
            LinkRecord(upstream: upstream, repository: repository, digest: digest, size: size, audience: audience))
    }
}
