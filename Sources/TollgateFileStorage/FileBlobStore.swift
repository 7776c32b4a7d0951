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
import Synchronization
import TollgateProxy

/// `BlobStore` on the local file system: `<root>/blobs/<alg>/<2 hex>/<hex>`, blobs being
/// written in `<root>/tmp/` (temp → fsync → rename → fsync dir), damaged ones moved to
/// `<root>/damaged/`. Reads and writes are positional, on NIO's blocking-I/O thread pool.
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
            throw ioError("stat", errno: errno, path: path)
        }
    }

    public func reader(_ digest: Digest) async throws -> (any BlobReader)? {
        let path = self.path(of: digest)
        return try await StorageIO.run { () throws -> FileBlobReader? in
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                if errno == ENOENT || errno == ENOTDIR { return nil }
                throw ioError("open", errno: errno, path: path)
            }
            let file = BlobFile(fd: fd, path: path)
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw ioError("fstat", errno: errno, path: path) }
            return FileBlobReader(file: file, size: Int64(st.st_size))
        }
    }

    public func writer() async throws -> any BlobWriter {
        let path = "\(root)/tmp/\(UUID().uuidString.lowercased())"
        let file = try await StorageIO.run {
            let fd = Glibc.open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw ioError("create", errno: errno, path: path) }
            return BlobFile(fd: fd, path: path)
        }
        return FileBlobWriter(file: file, store: self)
    }

    /// Renames a fully written temporary file to `digest`'s path (see `BlobWriter.commit`).
    func publish(_ file: BlobFile, as digest: Digest, durable: Bool) async throws {
        let final = path(of: digest)
        let dir = String(final[..<(final.lastIndex(of: "/") ?? final.endIndex)])
        let fd = file.fd
        let tmp = file.path
        try await StorageIO.run {
            if durable, fsync(fd) != 0 { throw ioError("fsync", errno: errno, path: tmp) }
            if mkdir(dir, 0o755) != 0, errno != EEXIST { throw ioError("mkdir", errno: errno, path: dir) }
            guard rename(tmp, final) == 0 else { throw ioError("rename", errno: errno, path: final) }
            guard durable else { return }
            // Make the rename itself durable.
            let dfd = Glibc.open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if dfd >= 0 {
                fsync(dfd)
                close(dfd)
            }
        }
    }
}

/// A stored blob's open file: removing the blob meanwhile doesn't end it (POSIX unlink).
struct FileBlobReader: BlobReader {
    let file: BlobFile
    let size: Int64

    func read(at offset: Int64, count: Int, into buffer: consuming ByteBuffer) async throws -> ByteBuffer {
        try await file.read(at: offset, count: count, into: buffer)
    }
}

/// A temporary file in `tmp/`, appended to by one task at a time and read behind it by any.
final class FileBlobWriter: BlobWriter {
    let file: BlobFile
    let store: FileBlobStore
    private let end = Atomic<Int64>(0)
    /// Set once committed or aborted: the temporary file is gone (renamed or removed).
    private let finished = Atomic<Bool>(false)

    init(file: BlobFile, store: FileBlobStore) {
        self.file = file
        self.store = store
    }

    func read(at offset: Int64, count: Int, into buffer: consuming ByteBuffer) async throws -> ByteBuffer {
        try await file.read(at: offset, count: count, into: buffer)
    }

    func append(_ bytes: ByteBuffer) async throws {
        // Never into a published blob.
        guard !finished.load(ordering: .acquiring) else { throw BlobStoreError(description: "blob writer already finished") }
        let at = end.load(ordering: .acquiring)
        try await file.write(bytes, at: at)
        end.store(at + Int64(bytes.readableBytes), ordering: .releasing)
    }

    func commit(as digest: Digest, durable: Bool) async throws {
        guard finished.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            throw BlobStoreError(description: "blob writer already finished")
        }
        do {
            try await store.publish(file, as: digest, durable: durable)
        } catch {
            let tmp = file.path
            _ = try? await StorageIO.run { unlink(tmp) }
            throw error
        }
    }

    func abort() async {
        guard finished.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            return
        }
        let tmp = file.path
        _ = try? await StorageIO.run { unlink(tmp) }
    }
}
