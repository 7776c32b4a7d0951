#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NIOCore
import RegistryCore

/// A stored blob as the file system has it.
public struct StoredBlob: Sendable, Equatable {
    public var digest: Digest
    public var size: Int64
    /// Modification time, seconds since 1970.
    public var modified: Double
}

/// When each stored blob was last used, and what eviction and reports need from the index.
public struct BlobAccess: Sendable, Equatable {
    public var digest: Digest
    public var size: Int64
    /// Seconds since 1970.
    public var lastAccess: Double

    public init(digest: Digest, size: Int64, lastAccess: Double) {
        self.digest = digest
        self.size = size
        self.lastAccess = lastAccess
    }
}

/// What the cache holds, per upstream or repository (for `tollgate cache stats`).
public struct CacheShare: Sendable, Equatable {
    public var name: String
    public var blobs: Int64
    public var bytes: Int64
}

/// The index side of cache maintenance: last-access times (written in batches), the cache's
/// total, eviction candidates, and forgetting evicted content.
public protocol CacheIndexStore: Sendable {
    /// Adds or moves forward the last access of each blob.
    func recordAccess(_ entries: [BlobAccess]) async throws
    /// Least recently used first.
    func leastRecentlyUsed(limit: Int, olderThan: Double?) async throws -> [BlobAccess]
    /// Count and bytes of the blobs the index knows.
    func cachedBytes() async throws -> (blobs: Int64, bytes: Int64)
    /// Whether a cached tag points at `digest` (such manifests are kept).
    func isTagged(_ digest: Digest) async throws -> Bool
    /// Removes every trace of `digest`: access row, links, manifest record.
    func forget(_ digest: Digest) async throws
    /// Makes the access rows match the files: adds missing ones (with their modification time),
    /// removes rows of files that are gone.
    func reconcile(with files: [StoredBlob]) async throws
    func sharesByUpstream() async throws -> [CacheShare]
    func topRepositories(limit: Int) async throws -> [CacheShare]
}

extension FileBlobStore {
    /// Every blob file, with size and modification time.
    public func allBlobs() async throws -> [StoredBlob] {
        let root = self.root
        return try await StorageIO.run {
            var found: [StoredBlob] = []
            let fm = FileManager.default
            for algorithm in ["sha256", "sha512"] {
                let base = "\(root)/blobs/\(algorithm)"
                for prefix in (try? fm.contentsOfDirectory(atPath: base)) ?? [] {
                    for name in (try? fm.contentsOfDirectory(atPath: "\(base)/\(prefix)")) ?? [] {
                        guard let digest = try? Digest(parsing: "\(algorithm):\(name)"), name.hasPrefix(prefix) else {
                            continue
                        }
                        var st = stat()
                        guard stat("\(base)/\(prefix)/\(name)", &st) == 0 else { continue }
                        found.append(
                            StoredBlob(
                                digest: digest, size: Int64(st.st_size),
                                modified: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9))
                    }
                }
            }
            return found
        }
    }

    /// Deletes a blob file; a reader that has it open keeps reading it to the end (POSIX unlink).
    @discardableResult
    public func remove(_ digest: Digest) async throws -> Bool {
        let path = self.path(of: digest)
        return try await StorageIO.run {
            if unlink(path) == 0 { return true }
            if errno == ENOENT { return false }
            throw StorageError.io("unlink", errno: errno, path: path)
        }
    }

    /// Whether the file's bytes hash to its name.
    public func verify(_ digest: Digest) async throws -> Bool {
        guard let file = try await open(digest) else { return true }  // gone meanwhile: nothing wrong on disk
        var hasher = DigestHasher(for: digest)
        var offset: Int64 = 0
        var buffer = ByteBufferAllocator().buffer(capacity: 1 << 20)
        while true {
            buffer = try await file.read(at: offset, count: 1 << 20, into: buffer)
            if buffer.readableBytes == 0 { break }
            buffer.withUnsafeReadableBytes { hasher.update($0) }
            offset += Int64(buffer.readableBytes)
        }
        return hasher.finalize() == digest
    }

    /// Moves a damaged blob out of `blobs/` into `damaged/` (kept for inspection); returns where.
    public func quarantine(_ digest: Digest) async throws -> String {
        let from = path(of: digest)
        let dir = root + "/damaged"
        let to = "\(dir)/\(digest.algorithm)-\(digest.hex)-\(Int(Date().timeIntervalSince1970))"
        try await StorageIO.run {
            if mkdir(dir, 0o755) != 0, errno != EEXIST { throw StorageError.io("mkdir", errno: errno, path: dir) }
            guard rename(from, to) == 0 else { throw StorageError.io("rename", errno: errno, path: to) }
        }
        return to
    }

    /// `clean-shutdown`: written when the server stops gracefully, holding the time; a start
    /// without it (a crash) checks the blobs written since the last clean stop.
    public var shutdownMarkerPath: String { root + "/clean-shutdown" }
}
