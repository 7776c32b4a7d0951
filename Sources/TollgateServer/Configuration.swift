import Foundation
import TollgateAuth
import TollgateLimits
import Yams

/// Everything `tollgate serve` is configured with (`tollgate.yaml`). See README for each key.
public struct TollgateConfiguration: Sendable, Equatable {
    public var listenHost = "0.0.0.0"
    public var listenPort = 5000
    /// The base of the token realm (`<public_url>/token`). Unset: built from each request's Host
    /// (and scheme), or what a trusted proxy forwarded.
    public var publicURL: String?
    public var storage = Storage()
    public var upstreams: [String: UpstreamSettings] = [:]
    /// Upstream keys in the order they were written (for stable listings).
    public var upstreamOrder: [String] = []
    public var defaultUpstream = "docker.io"
    public var log = Log()
    public var auth = Auth()
    /// Built-in plans, replaced or extended by `plans:`.
    public var plans: [String: Plan] = Plan.builtIn
    /// The plan of users who have none of their own.
    public var defaultPlan = "default"
    /// `limits.enabled: false` turns off plans, limits, usage accounting and `/usage` (a
    /// private mirror that only needs authentication).
    public var limitsEnabled = true
    /// How long SIGTERM waits for running transfers before cutting them.
    public var shutdownTimeout: Duration = .seconds(30)
    public var metrics = Metrics()
    /// Reverse proxies whose `X-Forwarded-For` names the client (CIDRs).
    public var trustedProxies: [String] = []
    /// Serve HTTPS (and HTTP/2) with this certificate; nil: plain HTTP.
    public var tls: TLS?
    /// Connection timeouts and caps (`server:`).
    public var server = Server()

    /// What one client connection may hold: slow or idle clients are closed, the number of open
    /// connections is capped in total and per client address.
    public struct Server: Sendable, Equatable {
        /// A new connection must have sent a whole request head within this time.
        public var headerTimeout: Duration = .seconds(10)
        /// A keep-alive connection with no request in progress is closed after this time.
        public var idleTimeout: Duration = .seconds(60)
        /// A request body (POST /token) that sends nothing for this long is cut.
        public var bodyTimeout: Duration = .seconds(30)
        /// Open connections in total; nil: the open-file limit less a reserve (see README).
        public var maxConnections: Int?
        /// Open connections from one peer address (IPv6: per /64); 0 = no per-address cap.
        public var maxConnectionsPerClient = 256
    }

    public struct TLS: Sendable, Equatable {
        public var certificate: String
        public var key: String
        /// Offer HTTP/2 (ALPN `h2`) besides HTTP/1.1.
        public var http2 = true
    }

    public struct Storage: Sendable, Equatable {
        public var path = "./data"
        public var maxSize: Int64?
        /// The most bytes one blob download may have when no manifest declared its size.
        public var maxBlobSize: Int64 = 10 << 30
        /// Bytes of small blobs and manifests kept in memory.
        public var memoryCache: Int64 = 64 << 20
    }

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
            public var algorithm = "ES256"
            /// How long a refresh token (`docker login`'s identity token) lives.
            public var refreshTTL: Duration = .seconds(90 * 86400)
        }
    }

    /// `/metrics` (Prometheus text format), answered to clients in `allow` only.
    public struct Metrics: Sendable, Equatable {
        public var enabled = true
        public var allow: [String] = ["127.0.0.0/8", "::1/128"]
    }

    public struct Log: Sendable, Equatable {
        public var level = "info"
        public var format = "text"
        /// One line per request.
        public var access = true
    }

    public init() {}

    /// The configuration `serve` runs with when there is no file: the well-known public registries.
    public static var embeddedDefault: TollgateConfiguration {
        var c = TollgateConfiguration()
        let known: [(String, String)] = [
            ("docker.io", "https://registry-1.docker.io"), ("ghcr.io", "https://ghcr.io"),
            ("quay.io", "https://quay.io"), ("registry.k8s.io", "https://registry.k8s.io"),
            ("gcr.io", "https://gcr.io"),
        ]
        for (name, url) in known {
            c.upstreams[name] = UpstreamSettings(url: url)
            c.upstreamOrder.append(name)
        }
        return c
    }

    public var listenDescription: String {
        listenHost.contains(":") ? "[\(listenHost)]:\(listenPort)" : "\(listenHost):\(listenPort)"
    }

    /// `public_url` without a trailing slash; nil when unset (then each request's Host says).
    public var publicURLWithoutSlash: String? {
        guard let publicURL else { return nil }
        return publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
    }
}

/// Problems found in a configuration, each with the key path it concerns.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var problems: [String]
    public var description: String { problems.joined(separator: "\n") }
}

extension TollgateConfiguration {
    /// Loads and validates a YAML file.
    public static func load(path: String) throws -> TollgateConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(problems: ["\(path): cannot read: \(error.localizedDescription)"])
        }
        return try parse(yaml: text, baseDirectory: (path as NSString).deletingLastPathComponent)
    }

    /// Parses YAML text; relative file paths inside stay as written.
    public static func parse(yaml: String, baseDirectory: String = ".") throws -> TollgateConfiguration {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigurationError(problems: ["YAML: \(error)"])
        }
        var reader = ConfigReader()
        var config = TollgateConfiguration()
        if let root {
            reader.read(root, into: &config)
        }
        reader.validate(&config)
        if !reader.problems.isEmpty { throw ConfigurationError(problems: reader.problems) }
        return config
    }
}

/// Walks the YAML tree, collecting every problem with its key path instead of stopping at the first.
struct ConfigReader {
    var problems: [String] = []

    mutating func problem(_ path: String, _ text: String) { problems.append("\(path): \(text)") }

    mutating func mapping(_ node: Node, _ path: String) -> [(String, Node)]? {
        guard case .mapping(let m) = node else {
            problem(path.isEmpty ? "(top level)" : path, "expected a mapping")
            return nil
        }
        var out: [(String, Node)] = []
        for (k, v) in m {
            guard case .scalar(let s) = k else {
                problem(path, "keys must be strings")
                continue
            }
            out.append((s.string, v))
        }
        return out
    }

    mutating func string(_ node: Node, _ path: String) -> String? {
        guard case .scalar(let s) = node else {
            problem(path, "expected a string")
            return nil
        }
        return s.string
    }

    mutating func bool(_ node: Node, _ path: String) -> Bool? {
        guard let s = string(node, path) else { return nil }
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            problem(path, "expected true or false")
            return nil
        }
    }

    mutating func int(_ node: Node, _ path: String) -> Int? {
        guard let s = string(node, path) else { return nil }
        guard let v = Int(s) else {
            problem(path, "expected a whole number")
            return nil
        }
        return v
    }

    mutating func stringList(_ node: Node, _ path: String) -> [String]? {
        guard case .sequence(let seq) = node else {
            problem(path, "expected a list")
            return nil
        }
        return seq.enumerated().compactMap { i, n in string(n, "\(path)[\(i)]") }
    }

    mutating func duration(_ node: Node, _ path: String) -> Duration? {
        guard let s = string(node, path) else { return nil }
        guard let d = ConfigValues.duration(s) else {
            problem(path, "not a duration (examples: 30s, 5m, 6h, 7d)")
            return nil
        }
        return d
    }

    mutating func size(_ node: Node, _ path: String) -> Int64? {
        guard let s = string(node, path) else { return nil }
        guard let v = ConfigValues.size(s) else {
            problem(path, "not a size (examples: 500MB, 20GiB)")
            return nil
        }
        return v
    }

    mutating func unknown(_ path: String, _ key: String) { problem(path.isEmpty ? key : "\(path).\(key)", "unknown key") }

    mutating func read(_ root: Node, into c: inout TollgateConfiguration) {
        guard let top = mapping(root, "") else { return }
        var sawUpstreams = false
        for (key, value) in top {
            switch key {
            case "listen":
                guard let s = string(value, key) else { continue }
                if let (host, port) = ConfigValues.hostPort(s) {
                    c.listenHost = host
                    c.listenPort = port
                } else {
                    problem(key, "expected host:port, e.g. 0.0.0.0:5000 or [::]:5000")
                }
            case "public_url":
                guard let s = string(value, key) else { continue }
                if ConfigValues.isHTTPURL(s) { c.publicURL = s } else { problem(key, "not an http(s) URL") }
            case "tls":
                readTLS(value, into: &c)
            case "storage":
                readStorage(value, into: &c.storage)
            case "upstreams":
                sawUpstreams = true
                readUpstreams(value, into: &c)
            case "trusted_proxies":
                guard let list = stringList(value, key) else { continue }
                for (i, cidr) in list.enumerated() where AddressRange(cidr) == nil {
                    problem("\(key)[\(i)]", "not an address or CIDR range (examples: 127.0.0.1, 10.0.0.0/8)")
                }
                c.trustedProxies = list
            case "server":
                readServer(value, into: &c.server)
            case "shutdown_timeout":
                if let d = duration(value, key) { c.shutdownTimeout = d }
            case "default_upstream":
                if let s = string(value, key) { c.defaultUpstream = s }
            case "log":
                readLog(value, into: &c.log)
            case "auth":
                readAuth(value, into: &c.auth)
            case "plans":
                readPlans(value, into: &c)
            case "default_plan":
                if let v = string(value, key) { c.defaultPlan = v }
            case "metrics":
                readMetrics(value, into: &c.metrics)
            case "limits":
                guard let m = mapping(value, key) else { continue }
                for (k, v) in m {
                    if k == "enabled" { if let b = bool(v, "limits.enabled") { c.limitsEnabled = b } } else { unknown(key, k) }
                }
            default:
                unknown("", key)
            }
        }
        if !sawUpstreams {
            let d = TollgateConfiguration.embeddedDefault
            c.upstreams = d.upstreams
            c.upstreamOrder = d.upstreamOrder
        }
    }

    mutating func readStorage(_ node: Node, into s: inout TollgateConfiguration.Storage) {
        guard let m = mapping(node, "storage") else { return }
        for (key, value) in m {
            let path = "storage.\(key)"
            switch key {
            case "path": if let v = string(value, path) { s.path = v }
            case "max_size": if let v = size(value, path) { s.maxSize = v }
            case "max_blob_size":
                if let v = size(value, path) {
                    if v < 1 << 20 { problem(path, "must be at least 1MiB") } else { s.maxBlobSize = v }
                }
            case "memory_cache": if let v = size(value, path) { s.memoryCache = v }
            default: unknown("storage", key)
            }
        }
    }

    mutating func readAuth(_ node: Node, into a: inout TollgateConfiguration.Auth) {
        guard let m = mapping(node, "auth") else { return }
        for (key, value) in m {
            let path = "auth.\(key)"
            switch key {
            case "htpasswd": if let v = string(value, path) { a.htpasswd = v }
            case "anonymous": if let v = bool(value, path) { a.anonymous = v }
            case "anonymous_without_token": if let v = bool(value, path) { a.anonymousWithoutToken = v }
            case "hide_denied": if let v = bool(value, path) { a.hideDenied = v }
            case "token":
                guard let t = mapping(value, path) else { continue }
                for (k, v) in t {
                    let p = "\(path).\(k)"
                    switch k {
                    case "issuer": if let s = string(v, p) { a.token.issuer = s }
                    case "service": if let s = string(v, p) { a.token.service = s }
                    case "key_dir": if let s = string(v, p) { a.token.keyDirectory = s }
                    case "ttl":
                        if let d = duration(v, p) {
                            if d < .seconds(60) { problem(p, "at least 60s (clients may not refresh sooner)") }
                            a.token.ttl = d
                        }
                    case "refresh_ttl": if let d = duration(v, p) { a.token.refreshTTL = d }
                    case "algorithm":
                        guard let s = string(v, p) else { continue }
                        if s == "ES256" || s == "RS256" { a.token.algorithm = s } else { problem(p, "expected ES256 or RS256") }
                    default: unknown(path, k)
                    }
                }
            case "lockout":
                guard let l = mapping(value, path) else { continue }
                for (k, v) in l {
                    let p = "\(path).\(k)"
                    switch k {
                    case "failures":
                        if let n = int(v, p) {
                            if n < 1 { problem(p, "must be at least 1") } else { a.lockoutFailures = n }
                        }
                    case "window": if let d = duration(v, p) { a.lockoutWindow = d }
                    default: unknown(path, k)
                    }
                }
            case "default_policy":
                guard let pol = mapping(value, path) else { continue }
                for (k, v) in pol {
                    let p = "\(path).\(k)"
                    switch k {
                    case "allow", "deny":
                        guard let list = stringList(v, p) else { continue }
                        for (i, glob) in list.enumerated() where !AccessPolicy.isValidGlob(glob) {
                            problem("\(p)[\(i)]", "not a glob over <upstream>/<repository> (e.g. docker.io/library/*)")
                        }
                        if k == "allow" { a.allow = list } else { a.deny = list }
                    default: unknown(path, k)
                    }
                }
            default:
                unknown("auth", key)
            }
        }
    }

    mutating func readPlans(_ node: Node, into c: inout TollgateConfiguration) {
        guard let m = mapping(node, "plans") else { return }
        for (name, value) in m {
            let base = "plans.\(name)"
            guard ConfigValues.isPlanName(name) else {
                problem(base, "plan names are letters, digits, '-' and '_'")
                continue
            }
            guard let fields = mappingOrEmpty(value, base) else { continue }
            var limits = PlanLimits()
            for (key, v) in fields {
                let path = "\(base).\(key)"
                guard let kind = LimitKind(rawValue: key) else {
                    unknown(base, key)
                    continue
                }
                guard let text = string(v, path) else { continue }
                if text == "unlimited" { continue }  // the same as leaving it out
                guard let n = ConfigValues.limit(text, kind: kind) else {
                    problem(
                        path, kind.isSize ? "not a size (examples: 500MB, 20GiB) or unlimited" : "expected a whole number ≥ 0 or unlimited")
                    continue
                }
                limits[kind] = n
            }
            c.plans[name] = Plan(name: name, limits: limits)
        }
    }

    /// A mapping; `{}` and an empty value (`free:`) are an empty one.
    mutating func mappingOrEmpty(_ node: Node, _ path: String) -> [(String, Node)]? {
        if case .scalar(let s) = node, s.string.isEmpty || s.string == "~" || s.string == "null" { return [] }
        return mapping(node, path)
    }

    mutating func readTLS(_ node: Node, into c: inout TollgateConfiguration) {
        guard let m = mapping(node, "tls") else { return }
        var tls = TollgateConfiguration.TLS(certificate: "", key: "")
        for (key, value) in m {
            let path = "tls.\(key)"
            switch key {
            case "certificate": if let v = string(value, path) { tls.certificate = v }
            case "key": if let v = string(value, path) { tls.key = v }
            case "http2": if let v = bool(value, path) { tls.http2 = v }
            default: unknown("tls", key)
            }
        }
        if tls.certificate.isEmpty { problem("tls.certificate", "required (a PEM certificate chain file)") }
        if tls.key.isEmpty { problem("tls.key", "required (a PEM private key file)") }
        c.tls = tls
    }

    mutating func readServer(_ node: Node, into server: inout TollgateConfiguration.Server) {
        guard let m = mapping(node, "server") else { return }
        for (key, value) in m {
            let path = "server.\(key)"
            switch key {
            case "header_timeout", "idle_timeout", "body_timeout":
                guard let d = duration(value, path) else { continue }
                guard d > .zero, d <= .seconds(3600) else {
                    problem(path, "must be more than 0s and at most 1h")
                    continue
                }
                switch key {
                case "header_timeout": server.headerTimeout = d
                case "idle_timeout": server.idleTimeout = d
                default: server.bodyTimeout = d
                }
            case "max_connections":
                guard let n = int(value, path) else { continue }
                if n >= 1 { server.maxConnections = n } else { problem(path, "must be at least 1") }
            case "max_connections_per_client":
                guard let n = int(value, path) else { continue }
                if n >= 0 { server.maxConnectionsPerClient = n } else { problem(path, "must be 0 (no cap) or more") }
            default: unknown("server", key)
            }
        }
    }

    mutating func readMetrics(_ node: Node, into metrics: inout TollgateConfiguration.Metrics) {
        guard let m = mapping(node, "metrics") else { return }
        for (key, value) in m {
            let path = "metrics.\(key)"
            switch key {
            case "enabled": if let v = bool(value, path) { metrics.enabled = v }
            case "allow":
                guard let list = stringList(value, path) else { continue }
                for (i, cidr) in list.enumerated() where AddressRange(cidr) == nil {
                    problem("\(path)[\(i)]", "not an address or CIDR range (examples: 10.0.0.0/8, ::1)")
                }
                metrics.allow = list
            default: unknown("metrics", key)
            }
        }
    }

    mutating func readLog(_ node: Node, into l: inout TollgateConfiguration.Log) {
        guard let m = mapping(node, "log") else { return }
        for (key, value) in m {
            let path = "log.\(key)"
            switch key {
            case "level":
                guard let v = string(value, path) else { continue }
                if ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(v) {
                    l.level = v
                } else {
                    problem(path, "expected one of trace, debug, info, notice, warning, error, critical")
                }
            case "format":
                guard let v = string(value, path) else { continue }
                if v == "text" || v == "json" { l.format = v } else { problem(path, "expected text or json") }
            case "access":
                if let v = bool(value, path) { l.access = v }
            default: unknown("log", key)
            }
        }
    }

    mutating func readUpstreams(_ node: Node, into c: inout TollgateConfiguration) {
        guard let m = mapping(node, "upstreams") else { return }
        for (name, value) in m {
            let base = "upstreams.\(name)"
            if !ConfigValues.isRegistryHostName(name) {
                problem(base, "upstream key must be a registry host name such as docker.io or ghcr.io")
                continue
            }
            guard let fields = mapping(value, base) else { continue }
            var u = TollgateConfiguration.UpstreamSettings(url: "")
            for (key, v) in fields {
                let path = "\(base).\(key)"
                switch key {
                case "url":
                    guard let s = string(v, path) else { continue }
                    if ConfigValues.isHTTPURL(s) { u.url = s } else { problem(path, "not a URL") }
                case "aliases":
                    guard let list = stringList(v, path) else { continue }
                    for (i, a) in list.enumerated() where !ConfigValues.isHostName(a) {
                        problem("\(path)[\(i)]", "not a host name")
                    }
                    u.aliases = list.map { $0.lowercased() }
                case "username": u.username = string(v, path)
                case "password_file": u.passwordFile = string(v, path)
                case "password_env": u.passwordEnv = string(v, path)
                case "password":
                    problem(path, "passwords are not kept in the configuration; put it in a file (mode 0600) named by password_file, or use password_env")
                case "manifest_ttl": if let d = duration(v, path) { u.manifestTTL = d }
                case "connect_timeout": if let d = duration(v, path) { u.connectTimeout = d }
                case "first_byte_timeout": if let d = duration(v, path) { u.firstByteTimeout = d }
                case "idle_timeout": if let d = duration(v, path) { u.idleTimeout = d }
                default: unknown(base, key)
                }
            }
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

    mutating func validate(_ c: inout TollgateConfiguration) {
        if c.upstreams[c.defaultUpstream] == nil {
            problem("default_upstream", "\"\(c.defaultUpstream)\" is not a configured upstream")
        }
        var seen: [String: String] = [:]
        for name in c.upstreamOrder {
            for alias in c.upstreams[name]?.aliases ?? [] {
                if let other = seen[alias] {
                    problem("upstreams.\(name).aliases", "\(alias) is already an alias of \(other)")
                }
                seen[alias] = name
            }
        }
        if c.storage.path.isEmpty { problem("storage.path", "must not be empty") }
        if c.plans[c.defaultPlan] == nil {
            problem("default_plan", "\"\(c.defaultPlan)\" is not a plan (plans: \(c.plans.keys.sorted().joined(separator: ", ")))")
        }
    }
}

/// Parsers for the value syntaxes the configuration uses.
public enum ConfigValues {
    /// `30s`, `5m`, `6h`, `7d`, `500ms`.
    public static func duration(_ s: String) -> Duration? {
        let t = s.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604_800)]
        for (unit, factor) in units where t.hasSuffix(unit) {
            let number = t.dropLast(unit.count)
            guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }), let v = Double(number),
                v >= 0, v * factor < 10 * 365 * 86400
            else { continue }
            return .milliseconds(Int64((v * factor * 1000).rounded()))
        }
        return nil
    }

    /// `500MB`, `20GiB`, `1024` (bytes).
    public static func size(_ s: String) -> Int64? {
        let t = s.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [
            ("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("TiB", 1_099_511_627_776),
            ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("K", 1024), ("M", 1_048_576), ("G", 1_073_741_824),
            ("B", 1), ("", 1),
        ]
        for (unit, factor) in units where t.hasSuffix(unit) {
            let number = t.dropLast(unit.count).trimmingCharacters(in: .whitespaces)
            guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }), let v = Double(number),
                v >= 0, v * factor < 9e18
            else { continue }
            return Int64(v * factor)
        }
        return nil
    }

    /// A limit value: a size for byte limits, a whole number for the others; nil when invalid
    /// (`unlimited` is handled by the callers).
    public static func limit(_ s: String, kind: LimitKind) -> Int64? {
        if kind.isSize { return size(s) }
        let t = s.trimmingCharacters(in: .whitespaces)
        guard let v = Int64(t), v >= 0 else { return nil }
        return v
    }

    public static func isPlanName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64 && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }

    public static func hostPort(_ s: String) -> (String, Int)? {
        var host: Substring
        let portText: Substring
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { return nil }
            host = s[s.index(after: s.startIndex)..<close]
            let rest = s[s.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = s.lastIndex(of: ":") else { return nil }
            host = s[..<colon]
            portText = s[s.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port) else { return nil }
        if host.isEmpty { host = "0.0.0.0" }
        return (String(host), port)
    }

    public static func isHTTPURL(_ s: String) -> Bool {
        guard let u = URL(string: s), let scheme = u.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = u.host, !host.isEmpty
        else { return false }
        return true
    }

    /// A DNS name, optionally with a port.
    public static func isHostName(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253 else { return false }
        var name = Substring(s)
        if let colon = name.lastIndex(of: ":") {
            guard let p = Int(name[name.index(after: colon)...]), (1...65535).contains(p) else { return false }
            name = name[..<colon]
        }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// An upstream key: a host name that is also a valid repository path component (for prefix routing).
    public static func isRegistryHostName(_ s: String) -> Bool {
        isHostName(s) && s == s.lowercased() && !s.contains(":")
    }
}
