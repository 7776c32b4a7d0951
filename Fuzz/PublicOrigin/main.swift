// PublicOrigin.authority/resolve, HostPort.isValid — where the token realm points when public_url
// is unset. Input lines: Host values (first = the authority, the rest extra Host fields), then a
// line "--", then X-Forwarded-Proto, X-Forwarded-Host, Forwarded; before them, one byte whose low
// bit says whether the peer is a trusted proxy.
@testable import RegistryCore
@testable import TollgateServer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPublicOrigin(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let trusted = data[0] & 1 == 1
    let s = fuzzText(data + 1, size - 1)
    let lines = s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let cut = lines.firstIndex(of: "--") ?? lines.count
    let hosts = Array(lines[..<cut])
    let fwd = Array(lines[min(cut + 1, lines.count)...])
    let header = { (i: Int) in i < fwd.count && !fwd[i].isEmpty ? [fwd[i]] : [] }

    for h in hosts where HostPort.isValid(h) {
        // A valid host is plain text for a URL: nothing that ends the authority or a quoted string.
        check(
            h.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7a) || Array("-._:[]".utf8).contains(b)
            }, "\(escaped(h)) is valid but has other characters", input: s)
        check(h.utf8.count <= HostPort.maxLength, "\(escaped(h)) is valid but too long", input: s)
    }

    let authority = PublicOrigin.authority(hosts.first, hostFields: Array(hosts.dropFirst()))
    guard case .success(let host) = authority else {
        check(Set(hosts).count > 1, "agreeing hosts \(escaped(hosts.joined(separator: "|"))) refused", input: s)
        return 0
    }
    let result = PublicOrigin.resolve(
        authority: host, scheme: "http", trustedPeer: trusted, forwardedProto: header(0), forwardedHost: header(1),
        forwarded: header(2))
    switch result {
    case .success(let origin?):
        check(origin.scheme == "http" || origin.scheme == "https", "scheme \(escaped(origin.scheme))", input: s)
        check(HostPort.isValid(origin.host), "host \(escaped(origin.host)) is not valid", input: s)
        if !trusted { check(origin == PublicOrigin(scheme: "http", host: host ?? ""), "untrusted headers used", input: s) }
    case .success(nil):
        check(host == nil, "a host was given but no origin came back", input: s)
    case .failure(let problem):
        if let host, !HostPort.isValid(host) {
            check(problem == .badHost, "invalid Host gave \(problem)", input: s)
        } else {
            check(trusted, "refused \(problem) without a trusted peer", input: s)
        }
    }
    return 0
}
