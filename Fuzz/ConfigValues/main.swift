// ConfigValues.duration/size/hostPort, LimitUnit.parseOverride and the name checks — configuration values, but
// `duration` also parses /usage?since= and `tollgate token create --expires`; plus AddressRange
// (metrics.allow ranges matched against client addresses).
import Foundation
@testable import RegistryCore
@testable import TollgateLimits
@testable import TollgateServer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigValues(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let s = fuzzText(data, size)
    if let d = ConfigValues.duration(s) {
        check(d >= .zero && d <= .seconds(10 * 365 * 86400), "duration \(d) out of range", input: s)
    }
    if let v = ConfigValues.size(s) {
        check(v >= 0 && Double(v) < 9e18, "size \(v) out of range", input: s)
    }
    for kind in LimitKind.allCases {
        if let v = kind.about.unit.parseOverride(s) ?? nil { check(v >= 0, "negative \(kind) limit", input: s) }
    }
    if let (host, port) = ConfigValues.hostPort(s) {
        check((0...65535).contains(port) && !host.isEmpty, "hostPort \(host) \(port)", input: s)
    }
    if ConfigValues.isRegistryHostName(s) {
        check(ConfigValues.isHostName(s), "registry host name is no host name", input: s)
        // Upstream keys double as the first path component of a repository name.
        check((try? RepositoryName(parsing: s)) != nil, "registry host name is no repository component", input: s)
    }
    if ConfigValues.isPlanName(s) { check(!s.isEmpty && s.utf8.count <= 64, "plan name", input: s) }
    _ = ConfigValues.isHTTPURL(s)

    let lines = s.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
    if let range = AddressRange(lines[0]) {
        check(range.bytes.count == 4 || range.bytes.count == 16, "address length", input: s)
        check((0...(range.bytes.count * 8)).contains(range.prefix), "prefix \(range.prefix)", input: s)
        let address = String(lines[0].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)[0])
        check(range.contains(address), "range does not contain its own address", input: s)
        if lines.count > 1 { _ = range.contains(lines[1]) }
    }
    return 0
}
