// TokenResponse.parse — an upstream token server's JSON answer (TokenRealm.token), and
// the TokenCache entry it becomes. Compared with a reference reading of the same JSON.
import Foundation
@testable import TollgateUpstream

func isHeaderToken(_ t: String) -> Bool {
    !t.isEmpty && t.utf8.count <= TokenResponse.maxTokenBytes && t.utf8.allSatisfy { (0x21...0x7e).contains($0) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenResponse(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let body = Data(fuzzBytes(data, size))
    let s = fuzzText(data, size)
    let parsed = TokenResponse.parse(body)

    // The reference: a JSON object whose `token` (or else `access_token`) is a usable header value.
    if let json = try? JSONDecoder().decode(JSONValue.self, from: body), json.isObject {
        let expected = [json["token"]?.string, json["access_token"]?.string].compactMap { $0 }.first(where: isHeaderToken)
        check(parsed?.value == expected, "token \(parsed.map { escaped($0.value) } ?? "nil"), reference \(expected.map(escaped) ?? "nil")", input: s)
        if parsed != nil, let seconds = json["expires_in"]?.number, seconds == seconds.rounded(), (60...86_400).contains(seconds) {
            check(parsed!.lifetime == .seconds(Int(seconds)), "expires_in \(seconds) became \(parsed!.lifetime)", input: s)
        }
    }  // (else JSONDecoder may still read it: it checks only the strings it decodes)

    guard let (token, lifetime) = parsed else { return 0 }
    check(isHeaderToken(token), "token \(escaped(token)) is no header value", input: s)
    check(lifetime >= .seconds(60) && lifetime <= TokenResponse.maxLifetime, "lifetime \(lifetime)", input: s)
    // Cached until shortly before it expires, and no longer.
    let cache = TokenCache()
    let now = ContinuousClock.now
    cache.store(token, for: "scope", lifetime: lifetime, now: now)
    check(cache.token(for: "scope", now: now + .seconds(40)) == token, "token gone before its lifetime", input: s)
    check(cache.token(for: "scope", now: now + lifetime) == nil, "token kept past its lifetime", input: s)
    return 0
}
