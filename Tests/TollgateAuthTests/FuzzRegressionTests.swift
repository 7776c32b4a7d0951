import Crypto
import Foundation
import Testing

@testable import TollgateAuth

/// Inputs the fuzz targets under Fuzz/ (scripts/fuzz) turned up, kept as regression tests.
struct FuzzRegressionTests {
    /// Written by Apache's `htpasswd -nbB` (as in HtpasswdTests).
    static let hash = "$2y$10$6/7Dvee..aJjVhyutyQNfek1wrT0thKWsJqYzGqUhND1pKBfQ3NWq"

    /// Fuzz/AccessPolicy: `**` inside a component (`team-**`, `***`) is two `*`; the empty
    /// part between them made the component match nothing at all.
    @Test(arguments: [
        ("***", "", true), ("***", "abc", true), ("a/team-**", "a/team-x", true), ("a/team-**", "a/team-", true),
        ("a/x**y", "a/xy", true), ("a/x**y", "a/xzzy", true), ("a/x**y", "a/yx", false), ("a/*a**a*", "a/aa", true),
        ("a/*a**a*", "a/a", false), ("a/team-**", "a/team-x/y", false),
    ])
    func consecutiveStarsInAComponent(_ pattern: String, _ name: String, _ expected: Bool) {
        #expect(AccessPolicy.isValidGlob(pattern))
        #expect(AccessPolicy.matches(pattern, name) == expected)
    }

    /// The same in a deny list, where matching nothing let everything through.
    @Test func denyWithConsecutiveStars() {
        let policy = AccessPolicy(allow: ["**"], deny: ["docker.io/library/secret-**"])
        #expect(!policy.allows("docker.io/library/secret-app"))
        #expect(policy.allows("docker.io/library/alpine"))
    }

    /// Fuzz/Htpasswd: "\r\n" is a single Character, so a file with CRLF line endings was one
    /// line (the first user's hash ran into the next line; nobody could log in).
    @Test func crlfLineEndings() {
        let f = Htpasswd(text: "# users\r\nalice:\(Self.hash)\r\nbob:!\(Self.hash)\r\n")
        #expect(f.lines == ["# users", "alice:\(Self.hash)", "bob:!\(Self.hash)"])
        #expect(f.problems.isEmpty)
        #expect(f.users["alice"]?.line == 2 && f.users["alice"]?.disabled == false)
        #expect(f.users["bob"]?.line == 3 && f.users["bob"]?.disabled == true)
        #expect(Htpasswd(text: "\r").lines.isEmpty)
        #expect(Htpasswd(text: "alice:\(Self.hash)\r\n\r\n").lines == ["alice:\(Self.hash)", ""])
    }

    /// Fuzz/Htpasswd: removing a user with a duplicate line removed only the line that counted,
    /// and the duplicate (with its own password) took over.
    @Test func removeTakesDuplicateLinesToo() {
        let other = "$2b$05$" + String(repeating: "b", count: 53)
        var f = Htpasswd(text: "# users\nalice:\(Self.hash)\nbob:\(Self.hash)\nalice:\(other)\n")
        #expect(f.users["alice"]?.hash == Self.hash)
        #expect(f.problems.map(\.line) == [4])
        let removed = f.remove(user: "alice")
        #expect(removed)
        #expect(f.users["alice"] == nil)
        #expect(f.lines == ["# users", "bob:\(Self.hash)"])
        let again = f.remove(user: "alice")
        #expect(!again)
    }

    /// `exp + leeway` and `nbf - leeway` trapped (arithmetic overflow: the process dies) for a
    /// token of ours whose `exp` is Int.max or `nbf` Int.min (seen reading TokenService for
    /// Fuzz/TokenVerify, reproduced with it). Only a token signed with the service's key gets
    /// that far, so clients could not trigger it.
    @Test func extremeTimesDoNotOverflow() async throws {
        let (keyPEM, certPEM) = try TokenKeys.generate(.es256)
        let keys = try TokenKeys(keyPEM: keyPEM, certificatePEM: certPEM, algorithm: .es256)
        let service = try await TokenService(keys: keys, issuer: "tollgate", service: "svc", ttl: .seconds(300))
        let key = try P256.Signing.PrivateKey(pemRepresentation: keyPEM)
        func b64url(_ bytes: some Sequence<UInt8>) -> String {
            Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        func token(exp: Int, nbf: Int) throws -> String {
            let header = #"{"alg":"ES256","typ":"JWT","kid":"\#(keys.keyID)"}"#
            let claims = #"{"iss":"tollgate","sub":"a","aud":"svc","exp":\#(exp),"nbf":\#(nbf),"iat":0,"jti":"j","access":[]}"#
            let input = b64url(Array(header.utf8)) + "." + b64url(Array(claims.utf8))
            return input + "." + b64url(try key.signature(for: Array(input.utf8)).rawRepresentation)
        }
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let forever = try await service.verify(try token(exp: .max, nbf: .min), now: now)
        #expect(forever.exp == .max && forever.nbf == .min)
        await #expect(throws: TokenService.Rejection.self) { try await service.verify(try token(exp: .min, nbf: 0), now: now) }
        await #expect(throws: TokenService.Rejection.self) {
            try await service.verify(try token(exp: .max, nbf: .max), now: now)
        }
    }
}
