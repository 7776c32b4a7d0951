import Foundation

/// A token server's answer (distribution's token spec, and OAuth2's field names), kept apart from
/// `TokenRealm` (which needs the transport, hence AsyncHTTPClient) so Fuzz/TokenResponse can compile it alone.
/// Each field is read on its own: an odd `expires_in` (a string, a fraction, 1e300) no longer
/// throws away the token next to it.
struct TokenResponse: Decodable {
    var token: String?
    var access_token: String?
    var expires_in: Double?

    /// Longer tokens are refused: they are cached (up to 4096 scopes) and sent on every request.
    static let maxTokenBytes = 16 << 10
    /// A longer `expires_in` is cut to this (a token that stops working early is replaced after its
    /// 401 anyway); the spec's floor is 60 s.
    static let maxLifetime: Duration = .seconds(86_400)

    private enum Key: String, CodingKey { case token, access_token, expires_in }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        token = try? c.decode(String.self, forKey: .token)
        access_token = try? c.decode(String.self, forKey: .access_token)
        expires_in = try? c.decode(Double.self, forKey: .expires_in)
    }

    /// The token and how long to use it; nil when the body holds no token usable in an
    /// `Authorization` header (non-empty visible ASCII, at most `maxTokenBytes`).
    static func parse(_ body: Data) -> (value: String, lifetime: Duration)? {
        guard let decoded = try? JSONDecoder().decode(TokenResponse.self, from: body),
            let token = [decoded.token, decoded.access_token].lazy.compactMap({ $0 }).first(where: isUsable)
        else { return nil }
        // The spec: default 60 s, never trust less than that. Clamped before the conversion to Int.
        let seconds = min(max(decoded.expires_in ?? 60, 60), Double(maxLifetime.components.seconds))
        return (token, .seconds(Int(seconds)))
    }

    private static func isUsable(_ token: String) -> Bool {
        !token.isEmpty && token.utf8.count <= maxTokenBytes && token.utf8.allSatisfy { (0x21...0x7e).contains($0) }
    }
}
