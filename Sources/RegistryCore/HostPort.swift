/// A `Host` header value (RFC 9110 §7.2): `host[:port]`, where host is a DNS-style name
/// (letters, digits, `-`, `_`, dots between non-empty labels of at most 63 bytes, one trailing dot
/// allowed), an IPv4 address, or an IPv6 address in brackets; port 1–65535. Anything else (spaces,
/// slashes, user info, percent signs, several colons) is not a host a client can be sent back to.
public enum HostPort {
    public static let maxLength = 262  // 255 for the name, ":" and 5 digits, brackets

    public static func isValid(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard !bytes.isEmpty, bytes.count <= maxLength else { return false }
        var host = bytes[...]
        var port: ArraySlice<UInt8>?
        if bytes[0] == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return false }
            host = bytes[1..<close]
            let rest = bytes[(close + 1)...]
            if !rest.isEmpty {
                guard rest.first == UInt8(ascii: ":") else { return false }
                port = rest.dropFirst()
            }
            guard isIPv6(host) else { return false }
        } else {
            if let colon = bytes.firstIndex(of: UInt8(ascii: ":")) {
                host = bytes[..<colon]
                port = bytes[(colon + 1)...]
            }
            guard isName(host) else { return false }
        }
        if let port { return isPort(port) }
        return true
    }

    /// A name or dotted IPv4 address (which is a name of digit labels).
    static func isName(_ s: ArraySlice<UInt8>) -> Bool {
        guard !s.isEmpty, s.count <= 255 else { return false }
        var labels = s.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        if labels.count > 1, labels.last?.isEmpty == true { labels.removeLast() }  // "example.com."
        return labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63
                && label.allSatisfy { ASCII.isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
        }
    }

    /// Hex groups and colons (an IPv4 tail allowed), no zone identifier: a shape check, enough to
    /// keep anything but an address out of a URL.
    static func isIPv6(_ s: ArraySlice<UInt8>) -> Bool {
        guard s.count >= 2, s.count <= 45, s.contains(UInt8(ascii: ":")) else { return false }
        return s.allSatisfy { b in
            ASCII.isHexDigit(b) || b == UInt8(ascii: ":")
                || b == UInt8(ascii: ".")
        }
    }

    static func isPort(_ s: ArraySlice<UInt8>) -> Bool {
        guard !s.isEmpty, s.count <= 5, s.allSatisfy(ASCII.isDigit) else { return false }
        let n = s.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        return n >= 1 && n <= 65535
    }
}
