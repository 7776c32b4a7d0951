import Foundation
import TollgateAuth
import Yams

extension TollgateConfiguration {
    public struct Auth: Sendable, Equatable {
        public var htpasswd = "./htpasswd"
        public var anonymous = false
        /// With `anonymous`: serve requests without any credentials directly (no token dance).
        public var anonymousWithoutToken = false
        public var token = Token()
        public var lockoutFailures = 10
        public var lockoutWindow: Duration = .seconds(300)
        public var allow: [String] = ["**"]
        public var deny: [String] = []
        public var hideDenied = false

        public struct Token: Sendable, Equatable {
            public var issuer = "tollgate"
            public var service = "tollgate"
            public var keyDirectory = "./tokens"
            public var ttl: Duration = .seconds(300)
            public var algorithm = TokenAlgorithm.es256
            /// How long a refresh token (`docker login`'s identity token) lives.
            public var refreshTTL: Duration = .seconds(90 * 86400)
        }
    }
}

extension ConfigReader {
    mutating func readAuth(_ node: Node, into a: inout TollgateConfiguration.Auth) {
        fields(of: node, at: "auth") { r, f in
            switch f.key {
            case "htpasswd": if let v = r.string(f.value, f.path) { a.htpasswd = v }
            case "anonymous": if let v = r.bool(f.value, f.path) { a.anonymous = v }
            case "anonymous_without_token": if let v = r.bool(f.value, f.path) { a.anonymousWithoutToken = v }
            case "hide_denied": if let v = r.bool(f.value, f.path) { a.hideDenied = v }
            case "token": r.readToken(f.value, f.path, into: &a.token)
            case "lockout":
                r.fields(of: f.value, at: f.path) { r, f in
                    switch f.key {
                    case "failures":
                        if let n = r.int(f.value, f.path) {
                            if n < 1 { r.problem(f.path, "must be at least 1") } else { a.lockoutFailures = n }
                        }
                    case "window": if let d = r.duration(f.value, f.path) { a.lockoutWindow = d }
                    default: return false
                    }
                    return true
                }
            case "default_policy":
                r.fields(of: f.value, at: f.path) { r, f in
                    guard f.key == "allow" || f.key == "deny" else { return false }
                    guard let list = r.stringList(f.value, f.path) else { return true }
                    for (i, glob) in list.enumerated() where !AccessPolicy.isValidGlob(glob) {
                        r.problem("\(f.path)[\(i)]", "not a glob over <upstream>/<repository> (e.g. docker.io/library/*)")
                    }
                    if f.key == "allow" { a.allow = list } else { a.deny = list }
                    return true
                }
            default: return false
            }
            return true
        }
    }

    mutating func readToken(_ node: Node, _ path: String, into t: inout TollgateConfiguration.Auth.Token) {
        fields(of: node, at: path) { r, f in
            switch f.key {
            case "issuer": if let s = r.string(f.value, f.path) { t.issuer = s }
            case "service": if let s = r.string(f.value, f.path) { t.service = s }
            case "key_dir": if let s = r.string(f.value, f.path) { t.keyDirectory = s }
            case "ttl":
                if let d = r.duration(f.value, f.path) {
                    if d < .seconds(60) { r.problem(f.path, "at least 60s (clients may not refresh sooner)") }
                    t.ttl = d
                }
            case "refresh_ttl": if let d = r.duration(f.value, f.path) { t.refreshTTL = d }
            case "algorithm": if let alg = r.oneOf(TokenAlgorithm.self, f.value, f.path) { t.algorithm = alg }
            default: return false
            }
            return true
        }
    }
}
