import Foundation
import Testing

@testable import TollgateUpstream

/// Inputs the fuzz targets under Fuzz/ (scripts/fuzz) turned up, kept as regression tests.
struct FuzzRegressionTests {
    func parse(_ json: String) -> (value: String, lifetime: Duration)? { TokenResponse.parse(Data(json.utf8)) }

    /// Fuzz/TokenResponse: an `expires_in` that isn't an Int (1e300, a fraction, a string) threw
    /// the whole answer away ("token server sent no token"); it is now read on its own, and clamped.
    @Test(arguments: [
        ("{\"token\":\"t\",\"expires_in\":1e300}", 86_400), ("{\"token\":\"t\",\"expires_in\":300.9}", 300),
        ("{\"token\":\"t\",\"expires_in\":\"300\"}", 60), ("{\"token\":\"t\",\"expires_in\":-5}", 60),
        ("{\"token\":\"t\",\"expires_in\":9223372036854775807}", 86_400), ("{\"token\":\"t\",\"expires_in\":null}", 60),
        ("{\"token\":\"t\"}", 60), ("{\"access_token\":\"t\",\"expires_in\":3600}", 3600),
    ])
    func expiresIn(_ json: String, _ seconds: Int) {
        #expect(parse(json)?.value == "t")
        #expect(parse(json)?.lifetime == .seconds(seconds))
    }

    /// Fuzz/TokenResponse: an empty or odd `token` hid a good `access_token` next to it.
    @Test func accessTokenWhenTokenIsUnusable() {
        #expect(parse("{\"token\":\"\",\"access_token\":\"x\"}")?.value == "x")
        #expect(parse("{\"token\":5,\"access_token\":\"x\"}")?.value == "x")
        #expect(parse("{\"token\":\"a b\",\"access_token\":\"x\"}")?.value == "x")
    }

    /// Tokens go into an `Authorization` header and the token cache (up to 4096 scopes): a token
    /// with blanks or control characters, or over 16 KiB, is no token (seen reading the code
    /// for Fuzz/TokenResponse: a 1 MiB token was cached per scope).
    @Test func tokensMustBeHeaderValues() {
        #expect(parse("{\"token\":\"a\\r\\nX-Injected: 1\"}") == nil)
        #expect(parse("{\"token\":\"a b\"}") == nil)
        #expect(parse("{\"token\":\"\u{e9}\"}") == nil)
        #expect(parse("{\"token\":\"\(String(repeating: "a", count: 16 << 10 + 1))\"}") == nil)
        #expect(parse("{\"token\":\"\(String(repeating: "a", count: 16 << 10))\"}") != nil)
        #expect(parse("[\"token\"]") == nil && parse("") == nil)
    }

    /// The longest lifetime still expires in the token cache (no overflow), and not before 40 s.
    @Test func longestLifetimeInTheCache() throws {
        let token = try #require(parse("{\"token\":\"t\",\"expires_in\":1e300}"))
        let cache = TokenCache()
        let now = ContinuousClock.now
        cache.store(token.value, for: "s", lifetime: token.lifetime, now: now)
        #expect(cache.token(for: "s", now: now + .seconds(40)) == "t")
        #expect(cache.token(for: "s", now: now + token.lifetime) == nil)
    }
}
