/// The query of a referrers request (`GET /v2/<name>/referrers/<digest>?…`), as it is passed to
/// the upstream and keyed in the cache: `artifactType` (OCI distribution-spec 1.1) and whatever
/// opaque parameters an upstream's own `Link` put there to page. The client controls it, so it is
/// bounded (8 parameters, 1 KiB), its names are plain tokens, and it is kept in one canonical
/// form (sorted, percent-encoded alike) so that equal queries share a cache entry.
public struct ReferrersQuery: Hashable, Sendable {
    /// Parameters with names and decoded values, sorted.
    public let parameters: [(String, String)]

    public static let maxParameters = 8
    public static let maxLength = 1024

    public static func == (a: Self, b: Self) -> Bool { a.encoded == b.encoded }
    public func hash(into h: inout Hasher) { h.combine(encoded) }

    /// No query: the whole, unfiltered list.
    public static let none = ReferrersQuery(validated: [])

    private init(validated: [(String, String)]) { parameters = validated }

    /// From `(name, decoded value)` pairs, leaving out `ns` (containerd's routing, not the
    /// upstream's business). PARAMETER_INVALID for too many, too long, a name that isn't a token,
    /// a value with control characters, or an `artifactType` that isn't a media type.
    public init(_ pairs: [(String, String)]) throws {
        let kept = pairs.filter { $0.0 != "ns" }
        guard kept.count <= Self.maxParameters else {
            throw RegistryError(.parameterInvalid, "too many query parameters (at most \(Self.maxParameters))")
        }
        for (name, value) in kept {
            guard Self.isToken(name) else { throw RegistryError(.parameterInvalid, "invalid query parameter name") }
            guard !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
                throw RegistryError(.parameterInvalid, "invalid value of query parameter \(name)")
            }
            if name == "artifactType", !MediaType.isWellFormed(value) {
                throw RegistryError(.parameterInvalid, "artifactType is not a media type")
            }
        }
        let sorted = kept.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
        let query = ReferrersQuery(validated: sorted)
        guard query.encoded.utf8.count <= Self.maxLength else {
            throw RegistryError(.parameterInvalid, "query too long (at most \(Self.maxLength) bytes)")
        }
        self = query
    }

    /// The filter asked for, if any.
    public var artifactType: String? { parameters.first { $0.0 == "artifactType" }?.1 }

    /// `name=value&…`, values percent-encoded (RFC 3986 unreserved kept); "" for none.
    public var encoded: String {
        parameters.map { "\($0.0)=\(FormURLEncoding.encode($0.1))" }.joined(separator: "&")
    }

    /// The query of the `rel="next"` target in an upstream's `Link` header(s), as a query to
    /// send again; the target's scheme, host and path are not used (the next page is asked of
    /// the same upstream, repository and subject). nil when there is no next page; throws when
    /// the next page's query is not one a client could send us.
    public static func next(fromLink values: [String]) throws -> ReferrersQuery? {
        for value in values {
            for link in value.split(separator: ",") where link.contains("rel=\"next\"") || link.contains("rel=next") {
                guard let open = link.firstIndex(of: "<"), let close = link.firstIndex(of: ">"), open < close else {
                    continue
                }
                let target = link[link.index(after: open)..<close]
                guard let q = target.firstIndex(of: "?") else { return ReferrersQuery.none }
                return try ReferrersQuery(decoding: target[target.index(after: q)...])
            }
        }
        return nil
    }

    /// From a raw query string (`a=b&c=d`, percent-encoded, `+` as space).
    public init(decoding raw: Substring) throws {
        guard raw.utf8.count <= Self.maxLength * 3 else {
            throw RegistryError(.parameterInvalid, "query too long (at most \(Self.maxLength) bytes)")
        }
        var pairs: [(String, String)] = []
        for part in raw.utf8.split(separator: UInt8(ascii: "&")) {
            let eq = part.firstIndex(of: UInt8(ascii: "=")) ?? part.endIndex
            guard let name = FormURLEncoding.decode(part[..<eq]),
                let value = FormURLEncoding.decode(eq == part.endIndex ? part[eq...] : part[part.index(after: eq)...])
            else { throw RegistryError(.parameterInvalid, "malformed percent-encoding in the query") }
            pairs.append((name, value))
        }
        try self.init(pairs)
    }

    static func isToken(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64
            && s.utf8.allSatisfy { b in
                ASCII.isAlphanumeric(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
                    || b == UInt8(ascii: ".")
            }
    }
}
