import RegistryCore

/// The `application/x-www-form-urlencoded` body of `POST /token` (kept apart from
/// `TokenController`, which needs Hummingbird, so Fuzz/TokenForm can compile it alone).
enum TokenForm {
    /// Fields by name (the first of repeated ones); nil when a name or value is not valid
    /// percent-encoding of UTF-8 (rejected, rather than read as something the client didn't send).
    /// Split on bytes: a `&` or `=` followed by a combining mark is still a delimiter.
    static func parse(_ text: String) -> [String: String]? {
        var out: [String: String] = [:]
        for pair in text.utf8.split(separator: UInt8(ascii: "&")) {
            let equals = pair.firstIndex(of: UInt8(ascii: "="))
            guard let key = decode(pair[..<(equals ?? pair.endIndex)]) else { return nil }
            var value = ""
            if let equals {
                guard let v = decode(pair[pair.index(after: equals)...]) else { return nil }
                value = v
            }
            if out[key] == nil { out[key] = value }
        }
        return out
    }

    private static func decode(_ field: Substring.UTF8View) -> String? { FormURLEncoding.decode(field) }
}
