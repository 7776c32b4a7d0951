import Foundation
import RegistryCore
import TollgateAuth

extension Admin {
    /// What `user import` did.
    public struct ImportResult: Sendable, Equatable {
        public var added: [String]
        public var updated: [String]

        public init(added: [String], updated: [String]) {
            self.added = added
            self.updated = updated
        }
    }

    /// Imports the users of an htpasswd file (Apache `htpasswd -B`: bcrypt; a `!` before the hash
    /// imports the user disabled). All or nothing: a line that is not a bcrypt user (MD5, SHA,
    /// crypt, a bad name, a duplicate) or, without `update`, a name that exists already, refuses the
    /// whole file, with every such line's number. New users start from nothing, as with `user add`.
    public func importUsers(htpasswd text: String, update: Bool) async throws -> ImportResult {
        let file = Htpasswd(text: text)
        var refusals = file.problems.map(\.description)
        let existing = try await users.listUsers().users
        let entries = file.users.values.sorted { $0.line < $1.line }
        if !update {
            refusals += entries.filter { existing[$0.name] != nil }.map {
                "htpasswd line \($0.line) (user \($0.name)): user already exists (--update replaces)"
            }
        }
        guard refusals.isEmpty else {
            throw AdminError("nothing imported:\n" + refusals.sorted(by: Self.byLine).joined(separator: "\n"))
        }
        guard !entries.isEmpty else { throw AdminError("nothing imported: no users in the file") }
        var result = ImportResult(added: [], updated: [])
        for entry in entries {
            let record = UserRecord(name: entry.name, passwordHash: entry.hash, disabled: entry.disabled)
            if existing[entry.name] != nil {
                _ = try await users.setPasswordHash(entry.hash, user: entry.name)
                _ = try await users.setDisabled(entry.disabled, user: entry.name)
                result.updated.append(entry.name)
            } else {
                guard let name = UserName(entry.name) else { continue }  // the parser checked it
                try await stores.userRemovals.eraseUser(name, removed: nil)
                if try await users.addUser(record) { result.added.append(entry.name) }
            }
        }
        for name in result.added { try await audit("user.import", name, "added") }
        for name in result.updated { try await audit("user.import", name, "updated") }
        return result
    }

    /// Every user as an htpasswd file (`name:hash`, `!` before the hash of a disabled user).
    public func exportUsers() async throws -> String {
        try await listUsers().map { "\($0.name):\($0.disabled ? "!" : "")\($0.passwordHash)\n" }.joined()
    }

    /// "htpasswd line 3 …" before "htpasswd line 12 …".
    private static func byLine(_ a: String, _ b: String) -> Bool {
        func number(_ s: String) -> Int { Int(s.split(separator: " ").dropFirst(2).first ?? "") ?? 0 }
        return number(a) < number(b)
    }
}
