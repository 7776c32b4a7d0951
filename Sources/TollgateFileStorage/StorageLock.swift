#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import TollgateProxy

/// An exclusive lock on a storage folder (`<root>/tollgate.lock`, `flock`), held while a server
/// runs: a second `serve` on the same storage would empty `tmp/` under the first one's downloads.
public final class StorageLock: Sendable {
    private let fd: Int32

    /// Takes the lock or fails at once, saying which process holds it.
    public init(root: String) throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let path = root + "/tollgate.lock"
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ioError("open", errno: errno, path: path) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw BlobStoreError(
                description: "storage \(root) is in use by another tollgate serve" + (holder.map { " (pid \($0))" } ?? ""))
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
        self.fd = fd
    }

    deinit { close(fd) }  // releases the lock

    /// The process that holds (or last held) the lock of `root`, if it is still alive: the
    /// running server, for the CLI beside it. Never takes the lock.
    public static func runningHolder(root: String) -> Int32? {
        guard let text = try? String(contentsOfFile: root + "/tollgate.lock", encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0, pid != getpid()
        else { return nil }
        return kill(pid, 0) == 0 || errno == EPERM ? pid : nil
    }
}
