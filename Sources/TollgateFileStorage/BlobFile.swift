#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix
import TollgateProxy

/// An open file descriptor, closed when the last reference goes away. Reads and writes are
/// positional (`pread`/`pwrite`), so several readers can share one descriptor, and they run on
/// NIO's blocking-I/O thread pool, never on an event loop or the cooperative pool.
final class BlobFile: Sendable {
    let fd: Int32
    let path: String

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Reads up to `count` bytes at `offset` (fewer only at end of file), reusing `buffer`'s storage
    /// when nobody else holds it (a buffer a socket has finished writing), so streaming a large blob
    /// doesn't allocate per chunk.
    func read(at offset: Int64, count: Int, into buffer: consuming ByteBuffer) async throws -> ByteBuffer {
        let fd = self.fd
        // Hand the only reference to the pool thread, so writing into it doesn't copy.
        let handOver = BufferHandOver(buffer)
        return try await StorageIO.run {
            var buffer = handOver.take()
            buffer.clear()
            var done = 0
            while done < count {
                let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count - done) { ptr in
                    pread(fd, ptr.baseAddress, count - done, off_t(offset) + off_t(done))
                }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ioError("read", errno: errno)
                }
                if n == 0 { break }
                done += n
            }
            return buffer
        }
    }

    /// Writes all of `buffer` at `offset`.
    func write(_ buffer: ByteBuffer, at offset: Int64) async throws {
        let fd = self.fd
        try await StorageIO.run {
            try buffer.withUnsafeReadableBytes { ptr in
                var done = 0
                while done < ptr.count {
                    let n = pwrite(fd, ptr.baseAddress! + done, ptr.count - done, off_t(offset) + off_t(done))
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw ioError("write", errno: errno)
                    }
                    done += n
                }
            }
        }
    }
}

/// A failed system call as a `BlobStoreError`: "rename <path>: No space left on device".
func ioError(_ op: String, errno e: Int32, path: String? = nil) -> BlobStoreError {
    let what = path.map { " \($0)" } ?? ""
    return BlobStoreError(
        description: "\(op)\(what): \(String(cString: strerror(e)))", isOutOfSpace: e == ENOSPC || e == EDQUOT)
}

/// Runs blocking file-system calls on NIO's shared thread pool.
enum StorageIO {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}

/// Moves a buffer into a closure without leaving a second reference behind (which would make
/// the first write into it copy the storage).
private final class BufferHandOver: @unchecked Sendable {
    // Written once at init and taken once, on one thread at a time (before and inside the job).
    private var buffer: ByteBuffer?
    init(_ buffer: consuming ByteBuffer) { self.buffer = buffer }
    func take() -> ByteBuffer {
        defer { buffer = nil }
        return buffer ?? ByteBuffer()
    }
}
