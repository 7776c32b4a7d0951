/// A token scope, `type[(class)]:name:actions` (`repository:library/alpine:pull`). The name may
/// hold `host:port`, so the actions are after the last colon.
public struct Scope: Codable, Sendable, Hashable, CustomStringConvertible {
    public var type: String
    public var name: String
    public var actions: [String]

    public init(type: String, name: String, actions: [String]) {
        self.type = type
        self.name = name
        self.actions = actions
    }

    public init?(parsing s: some StringProtocol) {
        guard s.utf8.count <= 1024, let first = s.firstIndex(of: ":"), let last = s.lastIndex(of: ":"), first < last
        else { return nil }
        var type = String(s[..<first])
        if let paren = type.firstIndex(of: "(") {
            guard type.hasSuffix(")") else { return nil }
            type = String(type[..<paren])  // the class is deprecated and ignored
        }
        let name = String(s[s.index(after: first)..<last])
        let actions = Substring(s[s.index(after: last)...]).split(separator: ",").map(String.init)
        guard !type.isEmpty, !name.isEmpty,
            type.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }),
            actions.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0 == "*") } })
        else { return nil }
        self.type = type
        self.name = name
        self.actions = actions
    }

    /// Every scope of one or more `scope` values, each space-separated; unparsable ones dropped.
    public static func parseAll(_ values: [String]) -> [Scope] {
        values.flatMap { $0.split(separator: " ") }.compactMap { Scope(parsing: $0) }
    }

    public var description: String { "\(type):\(name):\(actions.joined(separator: ","))" }
}

/// One entry of a token's `access` claim: a granted scope (`{"type","name","actions"}`).
public typealias AccessEntry = Scope

extension Scope {
    /// Whether this entry grants `action` on (`type`, `name`).
    public func grants(_ action: String, type: String, name: String) -> Bool {
        self.type == type && self.name == name && (actions.contains(action) || actions.contains("*"))
    }
}
