import Foundation
import NIOCore
import RegistryCore
import Synchronization

/// Blob sizes declared by the manifests that pulled through (their config and layers), per
/// upstream and repository: a normal pull fetches the manifest first, then its blobs, and each
/// blob download is then bounded by the declared size (and refused when the upstream announces
/// another one). Kept in memory, bounded: two generations of at most `capacity / 2` entries.
final class DeclaredSizes: Sendable {
    struct Key: Hashable, Sendable {
        var upstream: String
        var repository: String
        var digest: Digest
    }

    private struct Generations {
        var current: [Key: Int64] = [:]
        var previous: [Key: Int64] = [:]
    }

    private let generations = Mutex(Generations())
    private let capacity: Int

    init(capacity: Int = 200_000) {
        self.capacity = capacity
    }

    /// The size a manifest of `upstream`/`repository` declared for `digest`.
    func size(upstream: String, repository: String, digest: Digest) -> Int64? {
        let key = Key(upstream: upstream, repository: repository, digest: digest)
        return generations.withLock { $0.current[key] ?? $0.previous[key] }
    }

    /// Notes the config and layer sizes `manifest` declares (nothing for an index or a document
    /// that doesn't parse).
    func record(manifest: ByteBuffer, upstream: String, repository: String) {
        let declared = ManifestDescriptors(manifest.readableBytesView)?.declaredSizes ?? []
        guard !declared.isEmpty else { return }
        generations.withLock { g in
            for (digest, size) in declared {
                if g.current.count >= capacity / 2 {
                    g.previous = g.current
                    g.current.removeAll(keepingCapacity: true)
                }
                g.current[Key(upstream: upstream, repository: repository, digest: digest)] = size
            }
        }
    }
}
