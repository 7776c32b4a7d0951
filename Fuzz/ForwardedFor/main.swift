// ForwardedFor.client — `X-Forwarded-For` behind trusted proxies (ClientAddressMiddleware): the
// right-most hop that is not a trusted proxy. First input line: trusted ranges (CIDR, blank-
// separated; 192.0.2.0/24 is always trusted); the other lines: the header lines a client sent.
@testable import TollgateServer

let proxy = "192.0.2.1"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzForwardedFor(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let s = fuzzText(data, size)
    let lines = s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let ranges = [AddressRange("192.0.2.0/24")!] + lines[0].split(separator: " ").compactMap { AddressRange(String($0)) }
    let isTrusted = { (a: String) in ranges.contains { $0.contains(a) } }
    let sent = Array(lines.dropFirst())

    if let client = ForwardedFor.client(forwardedFor: sent, isTrusted: isTrusted) {
        check(sent.contains { $0.contains(client) }, "\(escaped(client)) is not in the header", input: s)
        check(
            !client.isEmpty && client.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isASCIIHexDigit || $0 == "." || $0 == ":") },
            "\(escaped(client)) is not an address's text", input: s)
        check(AddressRange.parse(client) != nil && !isTrusted(client), "\(escaped(client)) is trusted or no address", input: s)
    }

    // Whatever the client wrote, the address our trusted proxy appends wins: on a line of its own,
    // appended to the client's last line, or followed by the proxy itself.
    guard let real = ["203.0.113.7", "2001:db8::7", "::ffff:198.51.100.7"].first(where: { !isTrusted($0) }) else { return 0 }
    let appended = sent.isEmpty ? [real] : sent.dropLast() + [sent.last! + ", " + real]
    for header in [sent + [real], appended, sent + [real + "," + proxy], appended.dropLast() + [appended.last! + " ,\t" + proxy]] {
        let got = ForwardedFor.client(forwardedFor: header, isTrusted: isTrusted)
        check(got == real, "with \(escaped(header.joined(separator: " | "))) the client is \(got.map(escaped) ?? "nil"), not \(real)", input: s)
    }
    return 0
}
