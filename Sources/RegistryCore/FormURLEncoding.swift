/// `application/x-www-form-urlencoded` fields, as in a `/token` body, a console form or a URL query.
public enum FormURLEncoding {
    /// Fields by name (the first of repeated ones); nil when a name or value is not valid
    /// percent-encoding of UTF-8 (rejected, rather than read as something the client didn't send).
    /// Split on bytes: a `&` or `=` followed by a combining mark is still a delimiter.
    public static func fields(_ text: String) -> [String: String]? {
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

    /// `+` is a space, `%XX` a byte; nil for a bad escape or bytes that aren't UTF-8 (rejected,
    /// rather than read as something the client didn't send).
    public static func decode(_ field: Substring.UTF8View) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(field.count)
        var i = field.startIndex
        while i < field.endIndex {
            let b = field[i]
            i = field.index(after: i)
            switch b {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard i < field.endIndex, let high = hexValue(field[i]) else { return nil }
                i = field.index(after: i)
                guard i < field.endIndex, let low = hexValue(field[i]) else { return nil }
                i = field.index(after: i)
                bytes.append(high << 4 | low)
            default: bytes.append(b)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Every byte but RFC 3986's unreserved ones as `%XX`.
    public static func encode(_ s: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in s.utf8 {
            if ASCII.isAlphanumeric(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: ".")
                || b == UInt8(ascii: "~")
            {
                out.append(b)
            } else {
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
