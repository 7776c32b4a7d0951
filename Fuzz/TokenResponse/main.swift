// TokenResponse.parse — an upstream token server's JSON answer (RegistryClient.fetchToken), and
// the TokenCache entry it becomes. Compared with what JSONSerialization reads from the same body.
import Foundation
@testable import TollgateUpstream

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenResponse(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let body = Data(fuzzBytes(data, size))
    let s = fuzzText(data, size)
    let parsed = TokenResponse.parse(body)

    // The reference: a JSON object whose `token` (or else `access_token`) is a usable header value.
    let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
    func usable(_ key: String) -> String? {
        guard let t = object?[key] as? String, !t.isEmpty, t.utf8.count <= TokenResponse.maxTokenBytes,
            t.utf8.allSatisfy({ (0x21...0x7e).contains($0) })
        else { return nil }
        return t
    }
    // Compared where the two decoders must agree: JSONSerialization refuses some bodies JSONDecoder
    // reads (bad UTF-8 elsewhere), and they keep different copies of a repeated key.
    let keysOnce = ["\"token\"", "\"access_token\"", "\"expires_in\""].allSatisfy { s.components(separatedBy: $0).count <= 2 }
    if object != nil, keysOnce, !s.contains("\\u") {
        let expected = usable("token") ?? usable("access_token")
        check(parsed?.value == expected, "token \(parsed.map { escaped($0.value) } ?? "nil"), reference \(expected.map(escaped) ?? "nil")", input: s)
    }

    guard let (token, lifetime) = parsed else { return 0 }
    check(
        !token.isEmpty && token.utf8.count <= TokenResponse.maxTokenBytes && token.utf8.allSatisfy({ (0x21...0x7e).contains($0) }),
        "token \(escaped(token)) is no header value", input: s)
    check(lifetime >= .seconds(60) && lifetime <= TokenResponse.maxLifetime, "lifetime \(lifetime)", input: s)
    if let seconds = object?["expires_in"] as? Int, (60...86_400).contains(seconds) {
        check(lifetime == .seconds(seconds), "expires_in \(seconds) became \(lifetime)", input: s)
    }
    // Cached until shortly before it expires, and no longer.
    let cache = TokenCache()
    let now = ContinuousClock.now
    cache.store(token, for: "scope", lifetime: lifetime, now: now)
    check(cache.token(for: "scope", now: now + .seconds(40)) == token, "token gone before its lifetime", input: s)
    check(cache.token(for: "scope", now: now + lifetime) == nil, "token kept past its lifetime", input: s)
    return 0
}
