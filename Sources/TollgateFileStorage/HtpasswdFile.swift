#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import TollgateAuth

/// Read-modify-write of an htpasswd file: under an exclusive lock
/// (`<file>.lock`), written to a temporary file with the original's mode, fsynced, and renamed
/// over the original, so a running server never sees half a file.
enum HtpasswdFile {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static func read(_ path: String) throws -> Htpasswd {
        guard FileManager.default.fileExists(atPath: path) else { return Htpasswd(text: "") }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw Failure(description: "cannot read \(path)")
        }
        return Htpasswd(text: text)
    }

    /// Applies `change` to the file and writes the result atomically.
    public static func update<T>(_ path: String, _ change: (inout Htpasswd) throws -> T) throws -> T {
        let lockFD = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else { throw Failure(description: "cannot create \(path).lock: \(String(cString: strerror(errno)))") }
        defer { close(lockFD) }
        guard flock(lockFD, LOCK_EX) == 0 else { throw Failure(description: "cannot lock \(path).lock") }
        var file = try read(path)
        let result = try change(&file)
        try write(file.text, to: path)
        return result
    }

    static func write(_ text: String, to path: String) throws {
        var st = stat()
        let mode: mode_t = stat(path, &st) == 0 ? st.st_mode & 0o7777 : 0o600
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = (dir.isEmpty ? "." : dir) + "/.\((path as NSString).lastPathComponent).\(getpid()).tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw Failure(description: "cannot write \(tmp): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        var ok = fchmod(fd, mode) == 0
        var done = 0
        while ok, done < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n <= 0 { ok = false } else { done += n }
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw Failure(description: "cannot replace \(path): \(String(cString: strerror(errno)))")
        }
    }
}
