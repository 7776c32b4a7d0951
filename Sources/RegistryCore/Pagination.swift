/// Pagination of a tag (or repository) list as `tags/list?n=&last=` defines it:
/// lexical order, `last` exclusive, at most `n` entries.
public struct Pagination: Equatable, Sendable {
    public var limit: Int?
    public var last: String?

    /// Largest `n` accepted.
    public static let maxLimit = 10_000

    public init(limit: Int? = nil, last: String? = nil) {
        self.limit = limit
        self.last = last
    }

    /// Parses the `n` and `last` query parameters.
    public init(n: String?, last: String?) throws {
        if let n {
            guard n.utf8.count <= 6, let value = Int(n), value >= 0 else {
                throw RegistryError(.paginationNumberInvalid, "invalid number of results requested", detail: n)
            }
            self.limit = min(value, Self.maxLimit)
        } else {
            self.limit = nil
        }
        if let last, last.utf8.count > 512 {
            throw RegistryError(.paginationNumberInvalid, "invalid last parameter")
        }
        self.last = last
    }

    /// Returns the page and whether more entries follow it.
    public func page(of sortedEntries: [String]) -> (entries: [String], hasMore: Bool) {
        var rest = sortedEntries[...]
        if let last { rest = rest.drop(while: { $0 <= last }) }
        guard let limit else { return (Array(rest), false) }
        if limit == 0 { return ([], false) }
        let page = Array(rest.prefix(limit))
        return (page, rest.count > limit)
    }
}
