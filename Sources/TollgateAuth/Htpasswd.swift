import RegistryCore

/// An htpasswd file: `name:bcrypt-hash` lines, comments and blank lines kept as they are so the
/// CLI can rewrite the file without losing anything. A hash starting with `!` marks a disabled
/// user (the shadow-file convention: no password can match it, so Apache tools agree).
public struct Htpasswd: Sendable, Equatable {
    public struct User: Sendable, Equatable {
        public var name: String
        public var hash: String
        public var disabled: Bool
        /// 1-based line number, for messages.
        public var line: Int
    }

    /// A line that was not accepted, with why.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var user: String?
        public var reason: String
        public var description: String {
            "htpasswd line \(line)" + (user.map { " (user \($0))" } ?? "") + ": \(reason)"
        }
    }

    public private(set) var lines: [String]
    public private(set) var users: [String: User] = [:]
    public private(set) var problems: [Problem] = []

    public init(text: String) {
        // "\r\n" is one Character, so it is a separator of its own (CRLF files).
        lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
        if lines.last == "" { lines.removeLast() }
        reindex()
    }

    private mutating func reindex() {
        users = [:]
        problems = []
        for (i, raw) in lines.enumerated() {
            let line = raw.trimmingCharacters(in: " \t")
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":") else {
                problems.append(Problem(line: i + 1, user: nil, reason: "not name:hash"))
                continue
            }
            let name = String(line[..<colon])
            var hash = String(line[line.index(after: colon)...])
            // Apache allows trailing fields after the hash (name:hash:comment).
            if let extra = hash.firstIndex(of: ":") { hash = String(hash[..<extra]) }
            if let why = Self.invalidName(name) {
                problems.append(Problem(line: i + 1, user: nil, reason: "invalid user name: \(why)"))
                continue
            }
            let disabled = hash.hasPrefix("!")
            let bare = disabled ? String(hash.dropFirst()) : hash
            guard Bcrypt.isBcryptHash(bare) else {
                problems.append(
                    Problem(line: i + 1, user: name, reason: "not a bcrypt hash ($2y$, $2b$ or $2a$); user ignored"))
                continue
            }
            if users[name] != nil {
                problems.append(Problem(line: i + 1, user: name, reason: "duplicate user; the first line counts"))
                continue
            }
            users[name] = User(name: name, hash: bare, disabled: disabled, line: i + 1)
        }
    }

    /// Why `name` can't be a user name, or nil when it can (`UserName`'s rule).
    public static func invalidName(_ name: String) -> String? { UserName.problem(with: name) }

    // MARK: - Changes (for the CLI)

    /// Adds the user or replaces its hash, keeping its disabled mark.
    public mutating func setPassword(user: String, hash: String) {
        if let u = users[user] {
            lines[u.line - 1] = "\(user):\(u.disabled ? "!" : "")\(hash)"
        } else {
            lines.append("\(user):\(hash)")
        }
        reindex()
    }

    public mutating func remove(user: String) -> Bool {
        guard users[user] != nil else { return false }
        // A duplicate line of the user would count once the first is gone: remove those too.
        while let u = users[user] {
            lines.remove(at: u.line - 1)
            reindex()
        }
        return true
    }

    public mutating func setDisabled(user: String, _ disabled: Bool) -> Bool {
        guard let u = users[user] else { return false }
        lines[u.line - 1] = "\(user):\(disabled ? "!" : "")\(u.hash)"
        reindex()
        return true
    }

    public var text: String { lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n" }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> Substring {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return s
    }
}
