#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RegistryCore

/// Who a request acts as, for limits and accounting: a user, or — for anonymous requests — a
/// client address group (an IPv4 address, or an IPv6 /64, the smallest block a home or cloud
/// host gets).
public enum Principal: Sendable, Hashable, CustomStringConvertible {
    case user(UserName)
    case anonymous(AddressGroup)

    /// `u:<user>` / `ip:<group>`: the key in storage.
    public var description: String {
        switch self {
        case .user(let u): "u:" + u.value
        case .anonymous(let g): "ip:" + g.value
        }
    }

    public init?(storageKey s: String) {
        if s.hasPrefix("u:"), let name = UserName(String(s.dropFirst(2))) {
            self = .user(name)
        } else if s.hasPrefix("ip:") {
            self = .anonymous(AddressGroup(group: String(s.dropFirst(3))))
        } else {
            return nil
        }
    }
}

/// The group of client addresses anonymous limits count together: `203.0.113.7` stays as is;
/// `2001:db8:1:2:aa::1` becomes `2001:db8:1:2::/64`; an IPv4-mapped IPv6 address
/// (`::ffff:203.0.113.7`) counts as its IPv4 address; no address at all is `unknown`.
public struct AddressGroup: Sendable, Hashable, CustomStringConvertible {
    public let value: String

    public init(address: String?) { value = address.map(Self.group) ?? "unknown" }

    /// A group as stored.
    init(group: String) { value = group }

    public var description: String { value }

    public static func group(_ address: String) -> String {
        var v6 = in6_addr()
        guard address.utf8.contains(UInt8(ascii: ":")), inet_pton(AF_INET6, address, &v6) == 1 else { return address }
        var bytes = [UInt8](repeating: 0, count: 16)
        withUnsafeBytes(of: &v6) { raw in for i in 0..<16 { bytes[i] = raw[i] } }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            return "\(bytes[12]).\(bytes[13]).\(bytes[14]).\(bytes[15])"
        }
        var groups: [String] = []
        for i in stride(from: 0, to: 8, by: 2) {
            groups.append(String(UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]), radix: 16))
        }
        // Drop trailing zero groups of the prefix so the text is canonical-looking (`2001:db8::/64`).
        while groups.count > 1, groups.last == "0" { groups.removeLast() }
        return groups.joined(separator: ":") + "::/64"
    }
}
