#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NIOPosix
import Synchronization
import TollgateAuth

/// `UserStore` on an htpasswd file (bcrypt, `!` before the hash = disabled), the format
/// `htpasswd -B` writes too. Changes go through `HtpasswdFile` (locked, atomic rename), so a
/// server reading the file never sees half of it; its version is the file's size and
/// modification time.
public struct HtpasswdUserStore: UserStore {
    public let path: String
    /// The last listing read and the file version it was read at: listing again an unchanged file
    /// (the console's users page, a reload) doesn't parse 10,000 lines again.
    private let lastListing = ListingCache()

    public init(path: String) { self.path = path }

    public var location: String { path }

    public func version() async throws -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return "\(st.st_size):\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec):\(st.st_ino)"
    }

    public func listUsers() async throws -> UserListing {
        // The version is taken before the read: a change in between is read now and, its version
        // being newer than the one kept, read again next time.
        let before = try await version()
        if let before, let hit = lastListing.get(before) { return hit }
        let listing = Self.listing(try await io { try HtpasswdFile.read(path) })
        if let before { lastListing.set(before, listing) }
        return listing
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

    final class ListingCache: Sendable {
        private let kept = Mutex<(version: String, listing: UserListing)?>(nil)
        func get(_ version: String) -> UserListing? { kept.withLock { $0?.version == version ? $0?.listing : nil } }
        func set(_ version: String, _ listing: UserListing) { kept.withLock { $0 = (version, listing) } }
    }

    /// The file's reads and locked rewrites block: on NIO's thread pool.
    private func io<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}
