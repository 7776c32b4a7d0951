#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address range in CIDR notation (`10.0.0.0/8`, `::1/128`, or a single address).
struct AddressRange: Sendable, Equatable {
    let bytes: [UInt8]
    let prefix: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = Self.parse(String(parts[0])) else { return nil }
        let bits = address.count * 8
        if parts.count == 2 {
            guard let p = Int(parts[1]), (0...bits).contains(p) else { return nil }
            prefix = p
        } else {
            prefix = bits
        }
        bytes = address
    }

    /// Whether `address` (text, as a socket reports it) is in this range. IPv4-mapped IPv6
    /// addresses match IPv4 ranges.
    func contains(_ address: String) -> Bool {
        guard var a = Self.parse(address) else { return false }
        if a.count == 16, bytes.count == 4, a[0..<10].allSatisfy({ $0 == 0 }), a[10] == 0xff, a[11] == 0xff {
            a = Array(a[12...])
        }
        guard a.count == bytes.count else { return false }
        var left = prefix
        for i in 0..<bytes.count where left > 0 {
            let mask: UInt8 = left >= 8 ? 0xff : ~(0xff >> UInt8(left))
            if a[i] & mask != bytes[i] & mask { return false }
            left -= 8
        }
        return true
    }

    static func parse(_ s: String) -> [UInt8]? {
        // inet_pton reads a C string: "10.0.0.1\0junk" would be 10.0.0.1.
        if s.utf8.contains(0) { return nil }
        if s.contains(":") {
            var v6 = in6_addr()
            guard inet_pton(AF_INET6, s, &v6) == 1 else { return nil }
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        var v4 = in_addr()
        guard inet_pton(AF_INET, s, &v4) == 1 else { return nil }
        return withUnsafeBytes(of: &v4) { Array($0) }
    }
}
