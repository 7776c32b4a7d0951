import Foundation
import Yams

extension TollgateConfiguration {
    public struct UpstreamSettings: Sendable, Equatable {
        public var url: String
        public var aliases: [String] = []
        public var username: String?
        public var passwordFile: String?
        /// The name of an environment variable holding the password.
        public var passwordEnv: String?
        public var manifestTTL: Duration = .seconds(300)
        public var connectTimeout: Duration = .seconds(10)
        public var firstByteTimeout: Duration = .seconds(30)
        public var idleTimeout: Duration = .seconds(30)
    }
}

extension ConfigReader {
    mutating func readUpstreams(_ node: Node, into c: inout TollgateConfiguration) {
        guard let m = mapping(node, "upstreams") else { return }
        for (name, value) in m {
            let base = "upstreams.\(name)"
            if !ConfigValues.isRegistryHostName(name) {
                problem(base, "upstream key must be a registry host name such as docker.io or ghcr.io")
                continue
            }
            var u = TollgateConfiguration.UpstreamSettings(url: "")
            let read = fields(of: value, at: base) { r, f in
                switch f.key {
                case "url":
                    guard let s = r.string(f.value, f.path) else { return true }
                    if ConfigValues.isHTTPURL(s) { u.url = s } else { r.problem(f.path, "not a URL") }
                case "aliases":
                    guard let list = r.stringList(f.value, f.path) else { return true }
                    for (i, a) in list.enumerated() where !ConfigValues.isHostName(a) {
                        r.problem("\(f.path)[\(i)]", "not a host name")
                    }
                    u.aliases = list.map { $0.lowercased() }
                case "username": u.username = r.string(f.value, f.path)
                case "password_file": u.passwordFile = r.string(f.value, f.path)
                case "password_env": u.passwordEnv = r.string(f.value, f.path)
                case "password":
                    r.problem(
                        f.path,
                        "passwords are not kept in the configuration; put it in a file (mode 0600) named by password_file, or use password_env"
                    )
                case "manifest_ttl": if let d = r.duration(f.value, f.path) { u.manifestTTL = d }
                case "connect_timeout": if let d = r.duration(f.value, f.path) { u.connectTimeout = d }
                case "first_byte_timeout": if let d = r.duration(f.value, f.path) { u.firstByteTimeout = d }
                case "idle_timeout": if let d = r.duration(f.value, f.path) { u.idleTimeout = d }
                default: return false
                }
                return true
            }
            guard read else { continue }
            if u.url.isEmpty, !problems.contains(where: { $0.hasPrefix("\(base).url") }) {
                problem("\(base).url", "required")
            }
            if u.passwordFile != nil, u.passwordEnv != nil {
                problem(base, "password_file and password_env: give one")
            } else if (u.username == nil) != (u.passwordFile == nil && u.passwordEnv == nil) {
                problem(base, "username and password_file (or password_env) go together")
            }
            c.upstreams[name] = u
            c.upstreamOrder.append(name)
        }
    }
}
