/// A repository name as the distribution spec defines it:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`.
public struct RepositoryName: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let value: String
    public var description: String { value }
    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }

    /// Longest name accepted (the spec caps host + "/" + name at 255).
    public static let maxLength = 255

    public init(parsing s: some StringProtocol) throws {
        guard !s.isEmpty else { throw RegistryError.nameInvalid("empty repository name") }
        guard s.utf8.count <= Self.maxLength else { throw RegistryError.nameInvalid("repository name too long") }
        for component in Substring(s).split(separator: "/", omittingEmptySubsequences: false) {
            guard Self.isValidComponent(component) else {
                throw RegistryError.nameInvalid("invalid path component \(JSONString.quote(String(component.prefix(64))))")
            }
        }
        self.value = String(s)
    }

    public var components: [Substring] { value.split(separator: "/") }

    /// One component: alphanumerics separated by `.`, `_`, `__` or runs of `-`.
    public static func isValidComponent(_ c: Substring) -> Bool {
        let bytes = Array(c.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlnum(first), isAlnum(last) else { return false }
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if isAlnum(b) {
                i += 1
                continue
            }
            // A separator run: ".", "_", "__", or "-+"; it must be followed by an alphanumeric.
            var j = i
            if b == UInt8(ascii: ".") {
                j += 1
            } else if b == UInt8(ascii: "_") {
                j += 1
                if j < bytes.count, bytes[j] == UInt8(ascii: "_") { j += 1 }
            } else if b == UInt8(ascii: "-") {
                while j < bytes.count, bytes[j] == UInt8(ascii: "-") { j += 1 }
            } else {
                return false
            }
            guard j < bytes.count, isAlnum(bytes[j]) else { return false }
            i = j
        }
        return true
    }

    static func isAlnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) }

    /// The name with `prefix/` in front (e.g. `library/` for one-component Docker Hub names).
    public func prefixed(_ prefix: String) -> RepositoryName {
        // Safe: a valid prefix component joined with a valid name is valid (length re-checked).
        (try? RepositoryName(parsing: prefix + "/" + value)) ?? self
    }
}

/// A tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
public struct Tag: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let value: String
    public var description: String { value }
    public static func < (a: Tag, b: Tag) -> Bool { a.value < b.value }

    public init(parsing s: some StringProtocol) throws {
        let bytes = Array(s.utf8)
        guard let first = bytes.first, bytes.count <= 128 else {
            throw RegistryError(.tagInvalid, "manifest tag did not match URI", detail: "invalid tag")
        }
        func word(_ b: UInt8) -> Bool {
            (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || b == 0x5f
        }
        guard word(first), bytes.dropFirst().allSatisfy({ word($0) || $0 == 0x2e || $0 == 0x2d }) else {
            throw RegistryError(.tagInvalid, "manifest tag did not match URI", detail: "invalid tag")
        }
        self.value = String(s)
    }
}

/// What a manifest request names: a tag, or a digest.
public enum Reference: Hashable, Sendable, CustomStringConvertible {
    case tag(Tag)
    case digest(Digest)

    public init(parsing s: some StringProtocol) throws {
        if s.utf8.contains(UInt8(ascii: ":")) {
            self = .digest(try Digest(parsing: s))
        } else {
            self = .tag(try Tag(parsing: s))
        }
    }

    public var description: String {
        switch self {
        case .tag(let t): t.value
        case .digest(let d): d.description
        }
    }
}
