#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import RegistryCore
import TollgateProxy

extension FileBlobStore {
    /// Every blob file, with size and modification time.
    public func list() async throws -> [StoredBlob] {
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
            throw ioError("unlink", errno: errno, path: path)
        }
    }

    /// Moves a damaged blob out of `blobs/` into `damaged/` (kept for inspection); returns where.
    public func quarantine(_ digest: Digest) async throws -> String {
        let from = path(of: digest)
        let dir = root + "/damaged"
        let to = "\(dir)/\(digest.algorithm)-\(digest.hex)-\(Int(Date().timeIntervalSince1970))"
        try await StorageIO.run {
            if mkdir(dir, 0o755) != 0, errno != EEXIST { throw ioError("mkdir", errno: errno, path: dir) }
            guard rename(from, to) == 0 else { throw ioError("rename", errno: errno, path: to) }
        }
        return to
    }

    public func quarantinedCount() async throws -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: root + "/damaged"))?.count ?? 0
    }

    /// `clean-shutdown` exists only between a clean stop and the next start; `last-clean-stop`
    /// keeps the time of the last clean stop.
    public func beginRun() async -> PreviousRun {
        let fm = FileManager.default
        let marker = root + "/clean-shutdown"
        let clean = fm.fileExists(atPath: marker)
        try? fm.removeItem(atPath: marker)  // from now on, a crash is a crash
        if clean { return .clean }
        let last = (try? String(contentsOfFile: root + "/last-clean-stop", encoding: .utf8))
            .flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return .crashed(lastCleanStop: last)
    }

    public func recordCleanStop(at time: Double) async {
        let stamp = String(time)
        try? stamp.write(toFile: root + "/last-clean-stop", atomically: true, encoding: .utf8)
        try? stamp.write(toFile: root + "/clean-shutdown", atomically: true, encoding: .utf8)
    }
}
