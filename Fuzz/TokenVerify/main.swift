// TokenService.verify — the Bearer token a client presents on every /v2 request (jwt-kit
// decoding, our key lookup, signature check, claims checks).
// First input byte picks the mode:
//   even: the rest is the token as sent (hostile client); it must never verify.
//   odd:  the rest is a JWT header and claims (two lines, raw JSON) that we base64url-encode and
//         sign with the service's own key, to reach the claims decoding behind the signature.
import Crypto
import Dispatch
import Foundation
@testable import TollgateAuth

final class Box<T>: @unchecked Sendable { var value: T?; init() {} }

func blocking<T>(_ body: @escaping @Sendable () async throws -> T) -> Result<T, any Error> {
    let done = DispatchSemaphore(value: 0)
    let box = Box<Result<T, any Error>>()
    Task {
        do { box.value = .success(try await body()) } catch { box.value = .failure(error) }
        done.signal()
    }
    done.wait()
    return box.value!
}

struct Setup: @unchecked Sendable {
    let service: TokenService
    let key: P256.Signing.PrivateKey
    let kid: String
}

let setup: Setup = {
    let (keyPEM, certPEM) = try! TokenKeys.generate(.es256)
    let keys = try! TokenKeys(keyPEM: keyPEM, certificatePEM: certPEM, algorithm: .es256)
    let service = try! blocking { try await TokenService(keys: keys, issuer: "tollgate", service: "tollgate", ttl: .seconds(300)) }.get()
    return Setup(service: service, key: try! P256.Signing.PrivateKey(pemRepresentation: keyPEM), kid: keys.keyID)
}()

func b64url(_ bytes: some Sequence<UInt8>) -> String {
    Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
        .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenVerify(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var r = FuzzReader(data, size)
    let mode = r.byte()
    let text = r.rest
    let s = setup
    if mode & 1 == 0 {
        let result = blocking { try await s.service.verify(text) }
        if case .success(let claims) = result {
            check(false, "a token we did not sign verified: \(claims)", input: text)
        }
        return 0
    }
    let lines = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    let header = String(lines[0]).replacingOccurrences(of: "$KID", with: s.kid)
    let payload = lines.count > 1 ? String(lines[1]) : "{}"
    let signingInput = b64url(Array(header.utf8)) + "." + b64url(Array(payload.utf8))
    let signature = try! s.key.signature(for: Array(signingInput.utf8)).rawRepresentation
    let token = signingInput + "." + b64url(signature)
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    if case .success(let claims) = blocking({ try await s.service.verify(token, now: now) }) {
        let t = Int(now.timeIntervalSince1970)
        check(claims.iss == "tollgate" && claims.aud == "tollgate", "wrong issuer or audience accepted", input: text)
        check(t - 60 <= claims.exp && t + 60 >= claims.nbf, "expired or future token accepted", input: text)
    }
    return 0
}
