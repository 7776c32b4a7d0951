import Foundation
import RegistryCore
import Synchronization

/// Which repositories a user may pull: glob patterns over `<upstream>/<repository>`, whatever
/// name the client used (`docker.io/library/*` covers `alpine`, `library/alpine` and
/// `docker.io/library/alpine`; `ghcr.io/org/**`). `*` matches within one path component, `**`
/// any number of components. Deny wins over allow; no allow means nothing.
public struct AccessPolicy: Sendable, Equatable {
    public var allow: [String]
    public var deny: [String]

    public init(allow: [String] = ["**"], deny: [String] = []) {
        self.allow = allow
        self.deny = deny
    }

    public static let everything = AccessPolicy()

    /// The default policy: everything, nothing denied (checked without building a name).
    public var allowsEverything: Bool { deny.isEmpty && allow.contains("**") }

    public func allows(_ name: String) -> Bool {
        if allowsEverything { return true }  // the default, on every request
        if deny.contains(where: { Self.matches($0, name) }) { return false }
        return allow.contains(where: { Self.matches($0, name) })
    }

    /// The actions of `scope` this policy grants: pull only (a mirror never accepts pushes),
    /// and the catalog to anyone allowed everything. `canonical` turns a name as the client
    /// writes it into `<upstream>/<repository>` (nil: no such upstream).
    public func grant(_ scope: Scope, canonical: (RepositoryName) -> String?) -> AccessEntry? {
        switch scope.type {
        case "repository":
            guard scope.actions.contains("pull") || scope.actions.contains("*"),
                let name = try? RepositoryName(parsing: scope.name), let full = canonical(name), allows(full)
            else { return nil }
            return AccessEntry(type: "repository", name: scope.name, actions: ["pull"])
        case "registry" where scope.name == "catalog":
            guard allow.contains("**"), deny.isEmpty else { return nil }
            return AccessEntry(type: "registry", name: "catalog", actions: ["*"])
        default:
            return nil
        }
    }

    /// A glob over `<upstream>/<repository>`: `/`-separated components of lowercase name
    /// characters (and `:` for a port), `*` and `**`.
    public static func isValidGlob(_ glob: String) -> Bool {
        guard !glob.isEmpty, glob.utf8.count <= 512 else { return false }
        return glob.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { c in
            !c.isEmpty && c.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || "._-*:".contains($0)) }
        }
    }

    /// Component-wise glob match in O(pattern × name) steps: `reach[j]` says whether the first `j`
    /// name components can be matched by the pattern components seen so far (a backtracking
    /// matcher is exponential in the number of `**` against a long client-chosen name).
    static func matches(_ pattern: String, _ name: String) -> Bool {
        let p = pattern.split(separator: "/", omittingEmptySubsequences: false)
        let n = name.split(separator: "/", omittingEmptySubsequences: false)
        var reach = [Bool](repeating: false, count: n.count + 1)
        reach[0] = true
        for head in p {
            var next = [Bool](repeating: false, count: n.count + 1)
            if head == "**" {
                // Zero or more components: reachable from any earlier reachable point.
                var seen = false
                for j in 0...n.count {
                    seen = seen || reach[j]
                    next[j] = seen
                }
            } else {
                for j in 0..<n.count where reach[j] && component(head, n[j]) { next[j + 1] = true }
            }
            reach = next
        }
        return reach[n.count]
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
            } else if !part.isEmpty {  // an empty part (`**` inside a component) matches anywhere
                guard let r = rest.range(of: part) else { return false }
                rest = rest[r.upperBound...]
            }
        }
        return true
    }
}

/// The default policy and each user's own (`tollgate user set --allow/--deny`): a user's allow
/// list, when set, replaces the default allow list, and likewise for deny.
public final class PolicyBook: Sendable {
    public let defaultPolicy: AccessPolicy
    /// Answer a denied repository as unknown (404 NAME_UNKNOWN) instead of 403 DENIED.
    public let hideDenied: Bool
    private let users = Mutex<[String: AccessPolicy]>([:])

    public init(default policy: AccessPolicy, hideDenied: Bool = false) {
        self.defaultPolicy = policy
        self.hideDenied = hideDenied
    }

    public func policy(for user: UserName?) -> AccessPolicy {
        guard let user else { return defaultPolicy }
        return users.withLock { $0[user.value] } ?? defaultPolicy
    }

    /// Replaces every user's lists (nil: the default's).
    public func replace(_ lists: [String: (allow: [String]?, deny: [String]?)]) {
        var policies: [String: AccessPolicy] = [:]
        for (user, l) in lists where l.allow != nil || l.deny != nil {
            policies[user] = AccessPolicy(allow: l.allow ?? defaultPolicy.allow, deny: l.deny ?? defaultPolicy.deny)
        }
        users.withLock { $0 = policies }
    }

    /// The registry error for a repository `user` may not pull.
    public func refusal(_ name: String) -> RegistryError {
        hideDenied
            ? RegistryError(.nameUnknown, "repository name not known to registry", detail: name)
            : RegistryError(.denied, "requested access to the resource is denied", detail: name)
    }
}
