// AddressGroup.group — the client address an anonymous request is counted against
// (IPv4 as is, IPv6 by /64, IPv4-mapped IPv6 as IPv4). Grouping is idempotent.
@testable import TollgateLimits

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAddressGroup(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let s = fuzzText(data, size)
    let g = AddressGroup.group(s)
    if g == s { return 0 }  // not an IPv6 address: kept as is
    check(s.contains(":"), "changed an address without ':'", input: s)
    if g.hasSuffix("::/64") {
        let prefix = String(g.dropLast(3))
        check(AddressGroup.group(prefix) == g, "group of \(prefix) is \(AddressGroup.group(prefix)), not \(g)", input: s)
        check(g.split(separator: ":", omittingEmptySubsequences: true).count <= 5, "more than 4 groups", input: s)
    } else {
        let octets = g.split(separator: ".")
        check(octets.count == 4 && octets.allSatisfy { UInt8($0) != nil }, "mapped address \(g)", input: s)
        check(AddressGroup.group(g) == g, "IPv4 result not stable", input: s)
    }
    let principal = Principal.anonymous(AddressGroup(address: s))
    check(Principal(storageKey: principal.description) == principal, "storage key", input: s)
    return 0
}
