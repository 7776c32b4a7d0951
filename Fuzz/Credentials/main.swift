// Credentials(_:) — the client's `Authorization` header (Basic / Bearer), on /v2 and /token.
// The enum is internal to TollgateServer; scripts/fuzz extracts it from AuthMiddleware.swift.
import Foundation
@testable import TollgateServer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCredentials(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let s = fuzzText(data, size)
    let c = Credentials(s)
    switch c {
    case .none:
        break
    case .bearer(let token):
        check(s.utf8.count <= 16 << 10, "over-long header accepted", input: s)
        check(!token.hasSuffix(" ") && !token.hasSuffix("\t"), "trailing blank kept", input: s)
        if !token.isEmpty {
            check(Credentials("Bearer " + token) == c, "Bearer round trip", input: s)
        }
    case .basic(let user, let password):
        check(s.utf8.count <= 16 << 10, "over-long header accepted", input: s)
        if user == "\u{0}" && password.isEmpty { break }  // undecodable: a failed login
        check(!(user.isEmpty && password.isEmpty), "empty credentials are not anonymous", input: s)
        check(!user.contains(":"), "user contains ':'", input: s)
        let header = "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        check(Credentials(header) == c, "Basic round trip via \(header)", input: s)
    }
    return 0
}
