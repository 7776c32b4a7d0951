import PostgresNIO
import TollgateAuth

extension PostgresStore: UserStore {
    public var location: String { "postgresql" }

    public func version() async throws -> String? {
        var version: Int64 = 0
        for try await v in try await client.query("SELECT version FROM users_version WHERE id = 1", logger: logger)
            .decode(Int64.self) { version = v }
        return String(version)
    }

    public func listUsers() async throws -> UserListing {
        var users: [String: UserRecord] = [:]
        for try await (name, hash, disabled) in try await client.query(
            "SELECT name, password_hash, disabled FROM users", logger: logger
        ).decode((String, String, Bool).self) {
            users[name] = UserRecord(name: name, passwordHash: hash, disabled: disabled)
        }
        return UserListing(users: users)
    }

    public func addUser(_ user: UserRecord) async throws -> Bool {
        try await changeUsers { [logger] c in
            try await Self.count(
                c.query(
                    """
                    INSERT INTO users (name, password_hash, disabled) VALUES (\(user.name), \(user.passwordHash), \(user.disabled))
                    ON CONFLICT (name) DO NOTHING RETURNING 1
                    """, logger: logger)) == 1
        }
    }

    public func setPasswordHash(_ hash: String, user: String) async throws -> Bool {
        try await changeUsers { [logger] c in
            try await Self.count(
                c.query("UPDATE users SET password_hash = \(hash) WHERE name = \(user) RETURNING 1", logger: logger)) == 1
        }
    }

    public func setDisabled(_ disabled: Bool, user: String) async throws -> Bool {
        try await changeUsers { [logger] c in
            try await Self.count(
                c.query("UPDATE users SET disabled = \(disabled) WHERE name = \(user) RETURNING 1", logger: logger)) == 1
        }
    }

    public func deleteUser(_ user: String) async throws -> Bool {
        try await changeUsers { [logger] c in
            try await Self.count(c.query("DELETE FROM users WHERE name = \(user) RETURNING 1", logger: logger)) == 1
        }
    }

    /// A change and the version bump, in one transaction.
    private func changeUsers(_ change: @escaping @Sendable (PostgresConnection) async throws -> Bool) async throws -> Bool {
        try await client.withTransaction(logger: logger) { [logger] c in
            let changed = try await change(c)
            try await c.query("UPDATE users_version SET version = version + 1 WHERE id = 1", logger: logger)
            try await Self.notify(c, .users, logger)
            return changed
        }
    }
}

extension PostgresStore: KeyStore {
    public func key(_ name: KeyName) async throws -> String? {
        var value: String?
        for try await v in try await client.query("SELECT value FROM keys WHERE name = \(name.rawValue)", logger: logger)
            .decode(String.self) { value = v }
        return value
    }

    public func storeIfAbsent(_ name: KeyName, _ text: String) async throws -> String {
        try await client.query(
            "INSERT INTO keys (name, value) VALUES (\(name.rawValue), \(text)) ON CONFLICT (name) DO NOTHING", logger: logger)
        return try await key(name) ?? text
    }

    public func replace(_ name: KeyName, _ text: String) async throws {
        try await client.query(
            """
            INSERT INTO keys (name, value) VALUES (\(name.rawValue), \(text))
            ON CONFLICT (name) DO UPDATE SET value = excluded.value
            """, logger: logger)
    }
}
