import RegistryCore
import TollgateProxy

extension InMemoryDatabase: CacheIndexStore {
    public func recordAccess(_ entries: [BlobAccess]) async throws {
        try locked { state in
            for e in entries {
                if let old = state.access[e.digest] {
                    state.access[e.digest] = BlobAccess(
                        digest: e.digest, size: e.size, lastAccess: max(old.lastAccess, e.lastAccess))
                } else {
                    state.access[e.digest] = e
                }
            }
        }
    }

    public func leastRecentlyUsed(limit: Int, olderThan: Double?) async throws -> [BlobAccess] {
        try locked { state in
            let bound = olderThan ?? Double.greatestFiniteMagnitude
            let sorted = state.access.values.filter { $0.lastAccess < bound }.sorted {
                ($0.lastAccess, $0.digest) < ($1.lastAccess, $1.digest)
            }
            // SQLite: a negative LIMIT is no limit.
            return limit < 0 ? sorted : Array(sorted.prefix(limit))
        }
    }

    public func cachedBytes() async throws -> (blobs: Int64, bytes: Int64) {
        let (blobs, bytes) = try locked { state in
            (Int64(state.access.count), state.access.values.reduce(Int64(0)) { $0 + $1.size })
        }
        return (blobs, bytes)
    }

    public func isTagged(_ digest: Digest) async throws -> Bool {
        try locked { $0.tags.values.contains { $0.digest == digest } }
    }

    public func forget(_ digest: Digest) async throws {
        try locked { state in
            state.access[digest] = nil
            state.links = state.links.filter { $0.key.digest != digest }
            state.manifests[digest] = nil
        }
    }

    public func reconcile(with files: [StoredBlob]) async throws {
        try locked { state in
            for f in files {
                if let old = state.access[f.digest] {
                    state.access[f.digest] = BlobAccess(digest: f.digest, size: f.size, lastAccess: old.lastAccess)
                } else {
                    state.access[f.digest] = BlobAccess(digest: f.digest, size: f.size, lastAccess: f.modified)
                }
            }
            let present = Set(files.map(\.digest))
            state.access = state.access.filter { present.contains($0.key) }
        }
    }

    public func sharesByUpstream() async throws -> [CacheShare] {
        try locked { state in
            let pairs = Set(state.links.keys.map { Pair(name: $0.upstream, digest: $0.digest) })
            return Self.shares(of: pairs, sizes: state.access)
        }
    }

    public func topRepositories(limit: Int) async throws -> [CacheShare] {
        try locked { state in
            let pairs = Set(state.links.keys.map { Pair(name: $0.upstream + "/" + $0.repository, digest: $0.digest) })
            let shares = Self.shares(of: pairs, sizes: state.access)
            return limit < 0 ? shares : Array(shares.prefix(limit))
        }
    }

    /// A (group, digest) pair: each digest counts once per group.
    struct Pair: Hashable {
        var name: String
        var digest: Digest
    }

    /// Blobs and bytes per group, of the digests with an access row; most bytes first.
    private static func shares(of pairs: Set<Pair>, sizes: [Digest: BlobAccess]) -> [CacheShare] {
        var byName: [String: CacheShare] = [:]
        for pair in pairs {
            guard let size = sizes[pair.digest]?.size else { continue }
            var share = byName[pair.name] ?? CacheShare(name: pair.name, blobs: 0, bytes: 0)
            share.blobs += 1
            share.bytes += size
            byName[pair.name] = share
        }
        return byName.values.sorted { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : String.sqliteOrder($0.name, $1.name) }
    }

    public func recordTagPulls(_ pulls: [TagPull]) async throws {
        try locked { state in
            for p in pulls {
                let key = TagPullKey(upstream: p.upstream, repository: p.repository, tag: p.tag, user: p.user)
                state.tagPulls[key] = max(state.tagPulls[key] ?? p.at, p.at)
            }
        }
    }

    public func tagPulls(upstream: String, repository: String) async throws -> [String: TagPullSummary] {
        try locked { state in
            var result: [String: TagPullSummary] = [:]
            for (key, at) in state.tagPulls where key.upstream == upstream && key.repository == repository {
                let old = result[key.tag]
                result[key.tag] = TagPullSummary(lastPulled: max(old?.lastPulled ?? at, at), users: (old?.users ?? 0) + 1)
            }
            return result
        }
    }

    public func appliedEviction() async throws -> Int64? { try locked { $0.appliedEviction } }

    public func recordAppliedEviction(_ id: Int64) async throws {
        try locked { state in state.appliedEviction = max(state.appliedEviction ?? id, id) }
    }
}
