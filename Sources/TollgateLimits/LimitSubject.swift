#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who a limit is counted against: a user, or — for anonymous requests — a client address
/// group (an IPv4 address, or an IPv6 /64, the smallest block a home or cloud host gets).
public enum LimitSubject: Sendable, Hashable, CustomStringConvertible {
    case user(String)
    case address(String)

    /// The subject of an anonymous client at `address` (text form, as a socket reports it).
    public static func anonymous(address: String?) -> LimitSubject {
        .address(address.map(AddressGroup.group) ?? "unknown")
    }

    /// `u:<user>` / `ip:<group>`: the key in storage.
    public var description: String {
        switch self {
        case .user(let u): "u:" + u
        case .address(let a): "ip:" + a
        }
    }

    public init?(storageKey s: String) {
        if s.hasPrefix("u:") {
            self = .user(String(s.dropFirst(2)))
        } else if s.hasPrefix("ip:") {
            self = .address(String(s.dropFirst(3)))
        } else {
            return nil
        }
    }
}

/// Groups client addresses for anonymous limits.
public enum AddressGroup {
    /// `203.0.113.7` stays as is; `2001:db8:1:2:aa::1` becomes `2001:db8:1:2::/64`; an
    /// IPv4-mapped IPv6 address (`::ffff:203.0.113.7`) counts as its IPv4 address.
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

/// Wall time (for window labels) and monotonic time (for measuring), injectable for tests.
public struct LimitClock: Sendable {
    /// Nanoseconds since 1970 (UTC).
    public var wallNanos: @Sendable () -> Int64
    public var monotonic: @Sendable () -> UInt64

    public init(wallNanos: @escaping @Sendable () -> Int64, monotonic: @escaping @Sendable () -> UInt64) {
        self.wallNanos = wallNanos
        self.monotonic = monotonic
    }

    /// Whole seconds since 1970.
    public func wall() -> Int64 { floorDiv(wallNanos(), 1_000_000_000) }

    public static let system = LimitClock(
        wallNanos: {
            var ts = timespec()
            clock_gettime(CLOCK_REALTIME, &ts)
            return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
        },
        monotonic: {
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
        })
}
