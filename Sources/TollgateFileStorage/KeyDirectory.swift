#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import TollgateAuth

/// `KeyStore` on a folder (`auth.token.key_dir`): one file per key, named as the key
/// (`token.key`, `token.crt`, `upstream-credentials.key`); secret ones mode 0600. Created with
/// `O_EXCL` and fsynced; an empty file is one another process is writing, so it reads as absent
/// until it is whole.
public struct KeyDirectory: KeyStore {
    public let path: String

    public init(path: String) { self.path = path }

    public var location: String { path }

    public func file(_ name: KeyName) -> String { path + "/" + name.rawValue }

    public func key(_ name: KeyName) async throws -> String? {
        let file = file(name)
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw KeyDirectoryError(description: "cannot read \(file)")
        }
        return text.isEmpty ? nil : text
    }

    public func storeIfAbsent(_ name: KeyName, _ text: String) async throws -> String {
        let file = file(name)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, name.isSecret ? 0o600 : 0o644)
        if fd < 0 {
            let code = errno
            if code == EEXIST {
                // Another process's: wait (briefly) until it has written it.
                for _ in 0..<100 {
                    if let stored = try await key(name) { return stored }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            throw KeyDirectoryError(description: "cannot create \(file): \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
            unlink(file)
            throw KeyDirectoryError(description: "cannot write \(file)")
        }
        return text
    }

    public func replace(_ name: KeyName, _ text: String) async throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: file(name)), options: .atomic)
        } catch {
            throw KeyDirectoryError(description: "cannot write \(file(name)): \(error.localizedDescription)")
        }
    }
}

public struct KeyDirectoryError: Error, CustomStringConvertible {
    public var description: String
}
