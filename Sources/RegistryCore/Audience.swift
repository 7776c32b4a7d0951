/// Who cached content is visible to: every user whose access policy allows its repository
/// (`shared`: fetched with no credentials or the operator's), or one user (fetched with that
/// user's own upstream credentials). Tags, links and referrers pages are kept per audience.
public enum Audience: Hashable, Sendable, CustomStringConvertible {
    case shared
    case user(UserName)

    /// How it is stored: `shared`, `user:<name>`.
    public var key: String {
        switch self {
        case .shared: "shared"
        case .user(let name): "user:" + name.value
        }
    }

    public init?(key: String) {
        if key == "shared" {
            self = .shared
        } else if key.hasPrefix("user:"), let name = UserName(String(key.dropFirst(5))) {
            self = .user(name)
        } else {
            return nil
        }
    }

    public var description: String { key }
}
