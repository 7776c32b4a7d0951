import Foundation
import RegistryCore
import TollgateAuth

extension Admin {
    /// `name` as a user name, unless it can't be one or is taken.
    @discardableResult
    public func checkNewUser(_ name: String) async throws -> UserName {
        guard let user = UserName(name) else {
            throw AdminError("invalid user name: \(UserName.problem(with: name) ?? "invalid")")
        }
        if try await users.user(name) != nil { throw AdminError("user \(name) already exists") }
        return user
    }

    /// Adds a user. A new user starts from nothing: whatever a former user of the name left
    /// (content fetched with their credentials, tokens, settings, usage) is erased first.
    public func addUser(_ name: String, password: String, cost: Int = 10) async throws {
        let user = try await checkNewUser(name)
        let hash = try Bcrypt.hash(password, cost: cost)
        try await stores.userRemovals.eraseUser(user, removed: nil)
        guard try await users.addUser(UserRecord(name: name, passwordHash: hash)) else {
            throw AdminError("user \(name) already exists")
        }
        try await audit("user.add", name)
    }

    /// Removes a user and everything stored for them (`UserRemovalStore.eraseUser`); a running
    /// server forgets what it holds of them within a second. Returns how many personal tokens
    /// went with them.
    public func deleteUser(_ name: String) async throws -> Int {
        let user = try await requireUser(name)
        let tokens = try await stores.secretTokens.secretTokens(user: name, kind: .personal).count
        // Off the user store first: from then on no request of theirs is accepted.
        guard try await users.deleteUser(name) else { throw AdminError("no user \(name)") }
        try await stores.userRemovals.eraseUser(user, removed: Date())
        try await audit("user.del", name, "\(tokens) personal token(s) with it")
        return tokens
    }

    /// Sets a user's password; the logins `docker login` stored (refresh tokens) and the user's
    /// console sessions end.
    public func setPassword(_ name: String, password: String, cost: Int = 10) async throws {
        try await requireUser(name)
        let hash = try Bcrypt.hash(password, cost: cost)
        guard try await users.setPasswordHash(hash, user: name) else { throw AdminError("no user \(name)") }
        _ = try await stores.secretTokens.deleteSecretTokens(user: name, kind: .refresh)
        _ = try await stores.secretTokens.deleteSecretTokens(user: name, kind: .session)
        try await audit("user.passwd", name)
    }

    /// Disables (or enables again) a user: a disabled user can't log in and their tokens stop working.
    public func setDisabled(_ name: String, _ disabled: Bool) async throws {
        guard try await users.setDisabled(disabled, user: name) else { throw AdminError("no user \(name)") }
        try await audit(disabled ? "user.disable" : "user.enable", name)
    }

    /// Every user, by name.
    public func listUsers() async throws -> [UserRecord] {
        try await users.listUsers().users.values.sorted { $0.name < $1.name }
    }
}
