/// A user as the user store keeps them.
public struct UserRecord: Sendable, Equatable {
    public var name: String
    /// A bcrypt hash (`$2y$…`).
    public var passwordHash: String
    /// A disabled user can't log in, and their tokens stop working.
    public var disabled: Bool

    public init(name: String, passwordHash: String, disabled: Bool = false) {
        self.name = name
        self.passwordHash = passwordHash
        self.disabled = disabled
    }
}

/// Every user, and what the store could not read (logged, never fatal).
public struct UserListing: Sendable, Equatable {
    public var users: [String: UserRecord]
    /// One line each: a malformed entry, a duplicate name, a hash that isn't bcrypt.
    public var problems: [String]

    public init(users: [String: UserRecord] = [:], problems: [String] = []) {
        self.users = users
        self.problems = problems
    }
}

/// The user store (auth): who may log in. Written by the admin, read by servers, which reload
/// when `version()` moves.
public protocol UserStore: Sendable {
    /// Where the users live, for messages (a path, a database).
    var location: String { get }
    /// Changes whenever the users may have changed; cheap, a server asks it at most every 500 ms.
    /// nil when the store can't be read (then there are no users).
    func version() async throws -> String?
    func listUsers() async throws -> UserListing
    /// Adds a user; false when the name is taken.
    func addUser(_ user: UserRecord) async throws -> Bool
    /// False when there is no such user.
    func setPasswordHash(_ hash: String, user: String) async throws -> Bool
    /// False when there is no such user.
    func setDisabled(_ disabled: Bool, user: String) async throws -> Bool
    /// False when there was no such user.
    func deleteUser(_ user: String) async throws -> Bool
}

extension UserStore {
    public func user(_ name: String) async throws -> UserRecord? { try await listUsers().users[name] }
}
