import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// The token server's signing key and its self-signed certificate, kept in `key_dir` as
/// `token.key` (PKCS#8 PEM, mode 0600) and `token.crt` (PEM). Generated at first start.
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

    public static func keyPath(_ dir: String) -> String { dir + "/token.key" }
    public static func certificatePath(_ dir: String) -> String { dir + "/token.crt" }

    /// Loads the key pair from `dir`, generating it (and `dir`) when absent.
    public static func loadOrCreate(in dir: String, algorithm: Algorithm) throws -> TokenKeys {
        let fm = FileManager.default
        let keyPath = keyPath(dir), certPath = certificatePath(dir)
        if !fm.fileExists(atPath: keyPath) {
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let (keyPEM, certPEM) = try generate(algorithm)
            try writeSecret(keyPEM, to: keyPath)
            try Data(certPEM.utf8).write(to: URL(fileURLWithPath: certPath), options: .atomic)
        }
        guard let keyPEM = try? String(contentsOfFile: keyPath, encoding: .utf8),
            let certPEM = try? String(contentsOfFile: certPath, encoding: .utf8)
        else { throw Failure(description: "cannot read \(keyPath) and \(certPath)") }
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
    static func writeSecret(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
            throw Failure(description: "cannot write \(path)")
        }
    }

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
