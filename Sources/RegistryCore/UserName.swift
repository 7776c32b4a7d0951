/// A user's name, checked once where it enters (CLI, login, token subject, store): 1–255
/// bytes, no `:` (the htpasswd and Basic separator), no whitespace or control characters.
public struct UserName: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let value: String

    /// nil when `value` can't be a user name (`problem(with:)` says why).
    public init?(_ value: String) {
        guard Self.problem(with: value) == nil else { return nil }
        self.value = value
    }

    /// Why `name` can't be a user name, or nil when it can.
    public static func problem(with name: String) -> String? {
        // Most names are printable ASCII without ':': settled without Unicode properties.
        let utf8 = name.utf8
        if !utf8.isEmpty, utf8.count <= 255, utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: ":") }) {
            return nil
        }
        if name.isEmpty { return "empty" }
        if name.utf8.count > 255 { return "longer than 255 bytes" }
        if name.contains(":") { return "contains ':'" }
        if name.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7f }) {
            return "contains spaces or control characters"
        }
        return nil
    }

    public var description: String { value }

    public static func < (a: UserName, b: UserName) -> Bool { a.value < b.value }
}

/// The name of a configured upstream registry, its key in `upstreams:`: a lower-case registry
/// host name such as `docker.io` or `registry.k8s.io` (no port, no scheme).
public struct UpstreamName: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let value: String

    public init?(_ value: String) {
        guard Self.isValid(value) else { return nil }
        self.value = value
    }

    /// A DNS name of letters, digits and `-` in dot-separated labels of 1–63 characters (none
    /// starting or ending with `-`), at most 253 characters, lower case.
    public static func isValid(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253, s == s.lowercased() else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                && label.utf8.allSatisfy { ASCII.isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        }
    }

    public var description: String { value }

    public static func < (a: UpstreamName, b: UpstreamName) -> Bool { a.value < b.value }

    /// Docker Hub, whose official images live under `library/`.
    public static let dockerHub = UpstreamName(checked: "docker.io")

    private init(checked value: String) { self.value = value }
}
