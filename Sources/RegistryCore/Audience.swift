/// Who cached content is visible to: every user whose access policy allows its repository
/// (`shared`: fetched with no credentials or the operator's), or one user (fetched with that
/// user's own upstream credentials). Tags, links and referrers pages are kept per audience.
public enum Audience: Hashable, Sendable, CustomStringConvertible {
    case shared
    case user(String)

    /// How it is stored: `shared`, `user:<name>`.
    public var key: String {
        switch self {
        case .shared: "shared"
        case .user(let name): "user:" + name
        }
    }

    public init?(key: String) {
        if key == "shared" {
            self = .shared
        } else if key.hasPrefix("user:"), key.count > 5 {
            self = .user(String(key.dropFirst(5)))
        } else {
            return nil
        }
    }

    public var description: String { key }
}
