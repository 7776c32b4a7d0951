import Synchronization
import TollgateAuth

/// `UserStore` in memory, for unit tests: the version moves with every change.
public final class InMemoryUserStore: UserStore {
    private let state: Mutex<(users: [String: UserRecord], version: Int)>

    public init(users: [UserRecord] = []) {
        state = Mutex((Dictionary(users.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first }), 0))
    }

    public var location: String { "memory" }

    public func version() async throws -> String? { String(state.withLock { $0.version }) }

    public func listUsers() async throws -> UserListing { UserListing(users: state.withLock { $0.users }) }

    public func addUser(_ user: UserRecord) async throws -> Bool {
        change { users in
            guard users[user.name] == nil else { return false }
            users[user.name] = user
            return true
        }
    }

    /// Keeps the user's disabled mark, as the htpasswd store does.
    public func setPasswordHash(_ hash: String, user: String) async throws -> Bool {
        change { users in
            guard users[user] != nil else { return false }
            users[user]?.passwordHash = hash
            return true
        }
    }

    public func setDisabled(_ disabled: Bool, user: String) async throws -> Bool {
        change { users in
            guard users[user] != nil else { return false }
            users[user]?.disabled = disabled
            return true
        }
    }

    public func deleteUser(_ user: String) async throws -> Bool {
        change { $0.removeValue(forKey: user) != nil }
    }

    /// Applies `body`; a change that happened moves the version.
    private func change(_ body: (inout [String: UserRecord]) -> Bool) -> Bool {
        state.withLock { state in
            let changed = body(&state.users)
            if changed { state.version += 1 }
            return changed
        }
    }
}
