import RegistryCore

/// Which repositories a user may pull: glob patterns over the name as clients write it
/// (`docker.io/library/*`, `ghcr.io/org/**`). `*` matches within one path component, `**` any
/// number of components. Deny wins over allow; no allow means nothing.
public struct AccessPolicy: Sendable, Equatable {
    public var allow: [String]
    public var deny: [String]

    public init(allow: [String] = ["**"], deny: [String] = []) {
        self.allow = allow
        self.deny = deny
    }

    public static let everything = AccessPolicy()

    public func allows(_ name: String) -> Bool {
        if deny.isEmpty, allow.contains("**") { return true }  // the default, on every request
        if deny.contains(where: { Self.matches($0, name) }) { return false }
        return allow.contains(where: { Self.matches($0, name) })
    }

    /// The actions of `scope` this policy grants: pull only (a mirror never accepts pushes),
    /// and the catalog to anyone allowed everything.
    public func grant(_ scope: Scope) -> AccessEntry? {
        switch scope.type {
        case "repository":
            guard scope.actions.contains("pull") || scope.actions.contains("*"),
                (try? RepositoryName(parsing: scope.name)) != nil, allows(scope.name)
            else { return nil }
            return AccessEntry(type: "repository", name: scope.name, actions: ["pull"])
        case "registry" where scope.name == "catalog":
            guard allow.contains("**"), deny.isEmpty else { return nil }
            return AccessEntry(type: "registry", name: "catalog", actions: ["*"])
        default:
            return nil
        }
    }

    static func matches(_ pattern: String, _ name: String) -> Bool {
        let p = pattern.split(separator: "/", omittingEmptySubsequences: false)
        let n = name.split(separator: "/", omittingEmptySubsequences: false)
        return match(p[...], n[...])
    }

    private static func match(_ p: ArraySlice<Substring>, _ n: ArraySlice<Substring>) -> Bool {
        guard let head = p.first else { return n.isEmpty }
        if head == "**" {
            if p.count == 1 { return true }
            var rest = n
            while true {
                if match(p.dropFirst(), rest) { return true }
                guard !rest.isEmpty else { return false }
                rest = rest.dropFirst()
            }
        }
        guard let first = n.first, component(head, first) else { return false }
        return match(p.dropFirst(), n.dropFirst())
    }

    /// `*` in one component matches any run of characters.
    private static func component(_ p: Substring, _ s: Substring) -> Bool {
        let parts = p.split(separator: "*", omittingEmptySubsequences: false)
        if parts.count == 1 { return p == s }
        var rest = s
        for (i, part) in parts.enumerated() {
            if i == 0 {
                guard rest.hasPrefix(part) else { return false }
                rest = rest.dropFirst(part.count)
            } else if i == parts.count - 1 {
                return rest.hasSuffix(part) && rest.count >= part.count
            } else {
                guard let r = rest.range(of: part) else { return false }
                rest = rest[r.upperBound...]
            }
        }
        return true
    }
}
