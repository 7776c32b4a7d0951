import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// The token server's signing key (PKCS#8 PEM) and its self-signed certificate (PEM), kept in
/// the `KeyStore` (`key_dir`: `token.key`, mode 0600, and `token.crt`). Generated at first start.
public struct TokenKeys: Sendable {
    public typealias Algorithm = TokenAlgorithm

    public let algorithm: Algorithm
    public let privateKeyPEM: String
    /// The certificate, DER, base64 (standard alphabet, as `x5c` wants it).
    public let certificateBase64: String
    public let certificatePEM: String
    /// RFC 7638 JWK thumbprint of the public key.
    public let keyID: String
    /// The public key as a JWK (for `/token/jwks.json`).
    public let publicJWK: [String: String]

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Loads the key pair from `store`, generating it when absent.
    public static func loadOrCreate(from store: any KeyStore, algorithm: Algorithm) async throws -> TokenKeys {
        if try await store.key(.tokenSigningKey) == nil {
            let (keyPEM, certPEM) = try generate(algorithm)
            // Whoever stored the key first, stores its certificate.
            if try await store.storeIfAbsent(.tokenSigningKey, keyPEM) == keyPEM {
                try await store.replace(.tokenCertificate, certPEM)
            }
        }
        // Another process that stored the key first may not have stored its certificate yet.
        var pair: (String, String)?
        for attempt in 0..<100 {
            if let key = try? await store.key(.tokenSigningKey), let cert = try? await store.key(.tokenCertificate) {
                pair = (key, cert)
                break
            }
            if attempt < 99 { try await Task.sleep(for: .milliseconds(20)) }
        }
        guard let (keyPEM, certPEM) = pair else {
            throw Failure(
                description:
                    "cannot read \(KeyName.tokenSigningKey.rawValue) and \(KeyName.tokenCertificate.rawValue) in \(store.location)")
        }
        return try TokenKeys(keyPEM: keyPEM, certificatePEM: certPEM, algorithm: algorithm)
    }

    public init(keyPEM: String, certificatePEM: String, algorithm: Algorithm) throws {
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: certificatePEM)
        } catch {
            throw Failure(description: "token certificate is not a PEM certificate: \(error)")
        }
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        self.algorithm = algorithm
        self.privateKeyPEM = keyPEM
        self.certificatePEM = certificatePEM
        self.certificateBase64 = Data(serializer.serializedBytes).base64EncodedString()
        switch algorithm {
        case .es256:
            guard let key = try? P256.Signing.PrivateKey(pemRepresentation: keyPEM) else {
                throw Failure(description: "token.key is not a P-256 key (auth.token.algorithm: ES256)")
            }
            guard Certificate.PublicKey(key.publicKey) == certificate.publicKey else {
                throw Failure(description: "token.crt does not belong to token.key")
            }
            let raw = key.publicKey.x963Representation  // 0x04 || X || Y
            let x = Self.b64url(raw[1..<33]), y = Self.b64url(raw[33..<65])
            self.keyID = Self.thumbprint(#"{"crv":"P-256","kty":"EC","x":"\#(x)","y":"\#(y)"}"#)
            self.publicJWK = ["kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": keyID, "use": "sig", "alg": "ES256"]
        case .rs256:
            guard let key = try? _RSA.Signing.PrivateKey(pemRepresentation: keyPEM) else {
                throw Failure(description: "token.key is not an RSA key (auth.token.algorithm: RS256)")
            }
            guard Certificate.PublicKey(key.publicKey) == certificate.publicKey else {
                throw Failure(description: "token.crt does not belong to token.key")
            }
            let (n, e) = try Self.rsaPrimitives(key.publicKey.pkcs1DERRepresentation)
            let nb = Self.b64url(n), eb = Self.b64url(e)
            self.keyID = Self.thumbprint(#"{"e":"\#(eb)","kty":"RSA","n":"\#(nb)"}"#)
            self.publicJWK = ["kty": "RSA", "n": nb, "e": eb, "kid": keyID, "use": "sig", "alg": "RS256"]
        }
    }

    static func generate(_ algorithm: Algorithm) throws -> (key: String, certificate: String) {
        let name = try DistinguishedName { CommonName("Tollgate token signing key") }
        let now = Date()
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
            KeyUsage(digitalSignature: true, keyCertSign: true)
        }
        let certificate: Certificate
        let keyPEM: String
        switch algorithm {
        case .es256:
            let key = P256.Signing.PrivateKey()
            keyPEM = key.pemRepresentation
            certificate = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
                notValidBefore: now - 3600, notValidAfter: now + 10 * 365 * 86400, issuer: name, subject: name,
                signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: .init(key))
        case .rs256:
            let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            keyPEM = key.pemRepresentation
            certificate = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
                notValidBefore: now - 3600, notValidAfter: now + 10 * 365 * 86400, issuer: name, subject: name,
                signatureAlgorithm: .sha256WithRSAEncryption, extensions: extensions, issuerPrivateKey: .init(key))
        }
        return (keyPEM, try certificate.serializeAsPEM().pemString)
    }

    /// Creates the file with mode 0600 before anything secret is in it.
    static func rsaPrimitives(_ pkcs1: Data) throws -> (n: [UInt8], e: [UInt8]) {
        let node = try DER.parse(Array(pkcs1))
        return try DER.sequence(node, identifier: .sequence) { nodes in
            let n = try ArraySlice<UInt8>(derEncoded: &nodes)
            let e = try ArraySlice<UInt8>(derEncoded: &nodes)
            return (Array(n.drop { $0 == 0 }), Array(e.drop { $0 == 0 }))
        }
    }

    static func thumbprint(_ canonicalJSON: String) -> String {
        b64url(Array(SHA256.hash(data: Array(canonicalJSON.utf8))))
    }

    static func b64url(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
