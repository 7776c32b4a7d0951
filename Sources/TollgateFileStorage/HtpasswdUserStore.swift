#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NIOPosix
import TollgateAuth

/// `UserStore` on an htpasswd file (bcrypt, `!` before the hash = disabled), the format
/// `htpasswd -B` writes too. Changes go through `HtpasswdFile` (locked, atomic rename), so a
/// server reading the file never sees half of it; its version is the file's size and
/// modification time.
public struct HtpasswdUserStore: UserStore {
    public let path: String

    public init(path: String) { self.path = path }

    public var location: String { path }

    public func version() async throws -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return "\(st.st_size):\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec):\(st.st_ino)"
    }

    public func listUsers() async throws -> UserListing {
        let file = try await io { try HtpasswdFile.read(path) }
        return Self.listing(file)
    }

    public func addUser(_ user: UserRecord) async throws -> Bool {
        try await io {
            try HtpasswdFile.update(path) { file in
                guard file.users[user.name] == nil else { return false }
                file.setPassword(user: user.name, hash: user.passwordHash)
                if user.disabled { _ = file.setDisabled(user: user.name, true) }
                return true
            }
        }
    }

    public func setPasswordHash(_ hash: String, user: String) async throws -> Bool {
        try await io {
            try HtpasswdFile.update(path) { file in
                guard file.users[user] != nil else { return false }
                file.setPassword(user: user, hash: hash)
                return true
            }
        }
    }

    public func setDisabled(_ disabled: Bool, user: String) async throws -> Bool {
        try await io { try HtpasswdFile.update(path) { $0.setDisabled(user: user, disabled) } }
    }

    public func deleteUser(_ user: String) async throws -> Bool {
        try await io { try HtpasswdFile.update(path) { $0.remove(user: user) } }
    }

    static func listing(_ file: Htpasswd) -> UserListing {
        UserListing(
            users: file.users.mapValues { UserRecord(name: $0.name, passwordHash: $0.hash, disabled: $0.disabled) },
            problems: file.problems.map(\.description))
    }

    /// The file's reads and locked rewrites block: on NIO's thread pool.
    private func io<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}
