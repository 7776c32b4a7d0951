import RegistryCore
import TollgateProxy

extension InMemoryDatabase: ContentIndexStore {
    public func tag(upstream: String, repository: String, tag: String, audience: Audience) async throws -> TagRecord? {
        try locked { $0.tags[TagKey(upstream: upstream, repository: repository, tag: tag, audience: audience)] }
    }

    public func putTag(_ r: TagRecord) async throws {
        try locked { $0.tags[TagKey(upstream: r.upstream, repository: r.repository, tag: r.tag, audience: r.audience)] = r }
    }

    public func deleteTag(upstream: String, repository: String, tag: String, audience: Audience) async throws {
        try locked {
            _ = $0.tags.removeValue(forKey: TagKey(upstream: upstream, repository: repository, tag: tag, audience: audience))
        }
    }

    public func tags(upstream: String, repository: String, audiences: [Audience]) async throws -> [String] {
        try locked { state in
            let names = state.tags.values.filter {
                $0.upstream == upstream && $0.repository == repository && audiences.contains($0.audience)
            }.map(\.tag)
            return Set(names).sorted(by: String.sqliteOrder)
        }
    }

    public func manifest(_ digest: Digest) async throws -> ManifestRecord? {
        try locked { $0.manifests[digest] }
    }

    public func putManifest(_ r: ManifestRecord) async throws {
        try locked { $0.manifests[r.digest] = r }
    }

    public func link(upstream: String, repository: String, digest: Digest, audience: Audience) async throws
        -> LinkRecord?
    {
        try locked { $0.links[LinkKey(upstream: upstream, repository: repository, digest: digest, audience: audience)] }
    }

    public func putLink(_ r: LinkRecord) async throws {
        try locked {
            $0.links[LinkKey(upstream: r.upstream, repository: r.repository, digest: r.digest, audience: r.audience)] = r
        }
    }

    public func hasLink(upstream: String, digest: Digest) async throws -> Bool {
        try locked { $0.links.keys.contains { $0.upstream == upstream && $0.digest == digest } }
    }

    public func referrers(upstream: String, repository: String, subject: Digest, query: String, audience: Audience)
        async throws -> ReferrersRecord?
    {
        try locked {
            $0.referrers[
                ReferrersKey(upstream: upstream, repository: repository, subject: subject, query: query, audience: audience)]
        }
    }

    public func putReferrers(_ r: ReferrersRecord) async throws {
        try locked { state in
            let key = ReferrersKey(
                upstream: r.upstream, repository: r.repository, subject: r.subject, query: r.query, audience: r.audience)
            state.referrers[key] = r
            let horizon = r.fetchedAt - ReferrersRecord.retention
            state.referrers = state.referrers.filter { !($0.value.fetchedAt < horizon) }
        }
    }

    public func repositories(audiences: [Audience]) async throws -> [RepositoryKey] {
        try locked { state in
            let keys = state.links.values.filter { audiences.contains($0.audience) }.map {
                RepositoryKey(upstream: $0.upstream, repository: $0.repository)
            }
            return Set(keys).sorted { sqliteOrder([$0.upstream, $0.repository], [$1.upstream, $1.repository]) }
        }
    }

    public func tagRecords(upstream: String, repository: String) async throws -> [TagRecord] {
        try locked { state in
            state.tags.values.filter { $0.upstream == upstream && $0.repository == repository }
                .sorted { sqliteOrder([$0.tag, $0.audience.key], [$1.tag, $1.audience.key]) }
        }
    }

    public func evict(_ scope: CacheScope, tagLinks: Set<Digest>) async throws -> (tags: Int, unlinked: Set<Digest>) {
        try locked { state in
            func inScope(_ upstream: String, _ repository: String) -> Bool { scope.contains(upstream: upstream, repository: repository) }
            let tagsBefore = state.tags.count
            var unlinked = Set<Digest>()
            if let tag = scope.tag {
                state.tags = state.tags.filter { !scope.contains(upstream: $0.key.upstream, repository: $0.key.repository, tag: $0.key.tag) }
                state.links = state.links.filter { key, _ in
                    guard inScope(key.upstream, key.repository), tagLinks.contains(key.digest) else { return true }
                    unlinked.insert(key.digest)
                    return false
                }
                state.referrers = state.referrers.filter {
                    !(inScope($0.key.upstream, $0.key.repository) && tagLinks.contains($0.key.subject))
                }
            } else {
                state.tags = state.tags.filter { !inScope($0.key.upstream, $0.key.repository) }
                state.links = state.links.filter { key, _ in
                    guard inScope(key.upstream, key.repository) else { return true }
                    unlinked.insert(key.digest)
                    return false
                }
                state.referrers = state.referrers.filter { !inScope($0.key.upstream, $0.key.repository) }
            }
            return (tagsBefore - state.tags.count, unlinked)
        }
    }

    public func isLinked(_ digest: Digest) async throws -> Bool {
        try locked { state in state.links.keys.contains { $0.digest == digest } }
    }
}
