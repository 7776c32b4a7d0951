import Crypto
import Foundation
import JWTKit
import Synchronization

/// The claims of a Tollgate token (Docker's token spec: `access` lists what was granted).
public struct TokenClaims: JWTPayload, Equatable {
    public var iss: String
    public var sub: String
    public var aud: String
    public var exp: Int
    public var nbf: Int
    public var iat: Int
    public var jti: String
    public var access: [AccessEntry]

    // Times, issuer and audience are checked by `TokenService.verify` with its own clock.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Issues and verifies registry tokens (JWT, ES256 or RS256, `x5c` + `kid` in the header so
/// that distribution registries of both generations accept them).
public final class TokenService: Sendable {
    public let keys: TokenKeys
    public let issuer: String
    public let service: String
    public let ttl: Duration
    /// Accepted clock difference for `exp` and `nbf`.
    public let leeway: Int = 60
    private let collection: JWTKeyCollection
    /// Tokens already verified (by SHA-256 of the token), so a token costs one signature check.
    private let verified = Mutex<[SHA256Digest: TokenClaims]>([:])

    public init(keys: TokenKeys, issuer: String, service: String, ttl: Duration) async throws {
        self.keys = keys
        self.issuer = issuer
        self.service = service
        self.ttl = ttl
        let collection = JWTKeyCollection()
        let kid = JWKIdentifier(string: keys.keyID)
        switch keys.algorithm {
        case .es256:
            await collection.add(ecdsa: try ES256PrivateKey(pem: keys.privateKeyPEM), kid: kid)
        case .rs256:
            await collection.add(rsa: try Insecure.RSA.PrivateKey(pem: keys.privateKeyPEM), digestAlgorithm: .sha256, kid: kid)
        }
        self.collection = collection
    }

    public struct Issued: Sendable {
        public var token: String
        public var expiresIn: Int
        public var issuedAt: Date
        public var claims: TokenClaims
    }

    public func issue(subject: String, access: [AccessEntry], now: Date = Date()) async throws -> Issued {
        let t = Int(now.timeIntervalSince1970)
        let lifetime = max(60, Int(ttl.components.seconds))
        let claims = TokenClaims(
            iss: issuer, sub: subject, aud: service, exp: t + lifetime, nbf: t - 1, iat: t,
            jti: UUID().uuidString.lowercased(), access: access)
        var header = JWTHeader()
        header.typ = "JWT"
        header.x5c = [keys.certificatePEM]  // jwt-kit checks the chain and sends it as base64 DER
        let token = try await collection.sign(claims, kid: JWKIdentifier(string: keys.keyID), header: header)
        return Issued(token: token, expiresIn: lifetime, issuedAt: now, claims: claims)
    }

    public struct Rejection: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Verifies signature (with our key and algorithm only), issuer, audience and times.
    public func verify(_ token: String, now: Date = Date()) async throws -> TokenClaims {
        guard token.utf8.count <= 16 << 10 else { throw Rejection(description: "token too long") }
        let fingerprint = SHA256.hash(data: Array(token.utf8))
        let claims: TokenClaims
        if let cached = verified.withLock({ $0[fingerprint] }) {
            claims = cached
        } else {
            do {
                claims = try await collection.verify(token, as: TokenClaims.self)
            } catch {
                throw Rejection(description: "invalid token")
            }
        }
        let t = Int(now.timeIntervalSince1970)
        guard claims.iss == issuer else { throw Rejection(description: "wrong issuer") }
        guard claims.aud == service else { throw Rejection(description: "wrong audience") }
        // `t ± leeway`, not `exp + leeway`: the claims may hold any Int (no overflow trap).
        guard t - leeway <= claims.exp else { throw Rejection(description: "token expired") }
        guard t + leeway >= claims.nbf else { throw Rejection(description: "token not yet valid") }
        verified.withLock { v in
            if v.count >= 50_000 { v = v.filter { t - leeway <= $0.value.exp } }
            v[fingerprint] = claims
        }
        return claims
    }

    /// `{"keys":[…]}` for `/token/jwks.json`.
    public var jwksJSON: String {
        let fields = keys.publicJWK.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }
        return "{\"keys\":[{\(fields.joined(separator: ","))}]}"
    }
}
