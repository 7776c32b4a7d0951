#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import RegistryCore
import Foundation

/// Content-addressed storage: immutable files named by their digest.
public protocol BlobStore: Sendable {
    /// Size of the stored blob, or nil when it isn't stored.
    func size(of digest: Digest) async throws -> Int64?
    /// Opens a stored blob for reading, or nil when it isn't stored.
    func open(_ digest: Digest) async throws -> BlobFile?
    /// A new, empty temporary file that `commit` can later publish under a digest.
    func makeTemporaryFile() async throws -> BlobFile
    /// Publishes a fully written and verified temporary file under `digest`; with `durable`,
    /// the data and the rename are fsynced first (otherwise a crash may leave a damaged file,
    /// so readers must verify what they read).
    func commit(_ file: BlobFile, as digest: Digest, durable: Bool) async throws
    /// Removes a temporary file that will never be committed.
    func discard(_ file: BlobFile) async
}

/// `BlobStore` on the local file system:
/// `<root>/blobs/<alg>/<2 hex>/<hex>`, in-flight downloads in `<root>/tmp/`.
public struct FileBlobStore: BlobStore {
    public let root: String

    /// Creates the layout and (unless told otherwise: the CLI beside a running server) clears
    /// leftovers of earlier runs from `tmp/`.
    public init(root: String, clearTemporary: Bool = true) throws {
        self.root = root
        let fm = FileManager.default
        for dir in ["blobs/sha256", "blobs/sha512", "tmp"] {
            try fm.createDirectory(atPath: root + "/" + dir, withIntermediateDirectories: true)
        }
        guard clearTemporary else { return }
        for leftover in (try? fm.contentsOfDirectory(atPath: root + "/tmp")) ?? [] {
            try? fm.removeItem(atPath: root + "/tmp/" + leftover)
        }
    }

    public func path(of digest: Digest) -> String {
        // Digest parsing guarantees algorithm and hex are safe file-name characters.
        "\(root)/blobs/\(digest.algorithm)/\(digest.hex.prefix(2))/\(digest.hex)"
    }

    public func size(of digest: Digest) async throws -> Int64? {
        let path = self.path(of: digest)
        return try await StorageIO.run {
            var st = stat()
            if stat(path, &st) == 0 { return Int64(st.st_size) }
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw StorageError.io("stat", errno: errno, path: path)
        }
    }

    public func open(_ digest: Digest) async throws -> BlobFile? {
        let path = self.path(of: digest)
        return try await StorageIO.run {
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                if errno == ENOENT || errno == ENOTDIR { return nil }
                throw StorageError.io("open", errno: errno, path: path)
            }
            return BlobFile(fd: fd, path: path)
        }
    }

    public func makeTemporaryFile() async throws -> BlobFile {
        let path = "\(root)/tmp/\(UUID().uuidString.lowercased())"
        return try await StorageIO.run {
            let fd = Glibc.open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw StorageError.io("create", errno: errno, path: path) }
            return BlobFile(fd: fd, path: path)
        }
    }

    public func commit(_ file: BlobFile, as digest: Digest, durable: Bool = true) async throws {
        let final = path(of: digest)
        let dir = String(final[..<(final.lastIndex(of: "/") ?? final.endIndex)])
        let fd = file.fd
        let tmp = file.path
        try await StorageIO.run {
            if durable, fsync(fd) != 0 { throw StorageError.io("fsync", errno: errno, path: tmp) }
            if mkdir(dir, 0o755) != 0, errno != EEXIST { throw StorageError.io("mkdir", errno: errno, path: dir) }
            guard rename(tmp, final) == 0 else { throw StorageError.io("rename", errno: errno, path: final) }
            guard durable else { return }
            // Make the rename itself durable.
            let dfd = Glibc.open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if dfd >= 0 {
                fsync(dfd)
                close(dfd)
            }
        }
    }

    public func discard(_ file: BlobFile) async {
        let tmp = file.path
        _ = try? await StorageIO.run { unlink(tmp) }
    }
}

/// An exclusive lock on a storage folder (`<root>/tollgate.lock`, `flock`), held while a server
/// runs: a second `serve` on the same storage would empty `tmp/` under the first one's downloads.
public final class StorageLock: Sendable {
    private let fd: Int32

    /// Takes the lock or fails at once, saying which process holds it.
    public init(root: String) throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let path = root + "/tollgate.lock"
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StorageError.io("open", errno: errno, path: path) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw StorageError(
                description: "storage \(root) is in use by another tollgate serve" + (holder.map { " (pid \($0))" } ?? ""))
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
        self.fd = fd
    }

    deinit { close(fd) }  // releases the lock
}
