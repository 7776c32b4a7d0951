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
        let declared = Self.descriptors(of: manifest)
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

    /// The (digest, size) pairs of an image manifest's config and layers.
    static func descriptors(of manifest: ByteBuffer) -> [(Digest, Int64)] {
        struct Descriptor: Decodable {
            var digest: String
            var size: Int64?
        }
        struct Manifest: Decodable {
            var config: Descriptor?
            var layers: [Descriptor]?
        }
        guard let m = try? JSONDecoder().decode(Manifest.self, from: Data(manifest.readableBytesView)) else { return [] }
        return ((m.config.map { [$0] } ?? []) + (m.layers ?? [])).compactMap { d in
            guard let size = d.size, size >= 0, let digest = try? Digest(parsing: d.digest) else { return nil }
            return (digest, size)
        }
    }
}
