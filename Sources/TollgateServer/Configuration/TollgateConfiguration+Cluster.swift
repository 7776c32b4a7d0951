import Foundation
import Yams

extension TollgateConfiguration {
    /// `database:`: the PostgreSQL database several nodes share (cluster mode). Absent: the
    /// embedded engine (SQLite, the htpasswd file, local keys).
    public struct Database: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var user: String
        public var name: String
        /// `sslmode` of the URL: `disable` (default), `require` (encrypted, any certificate) or
        /// `verify-full` (encrypted, certificate checked against the system's roots and the host).
        public var tls: TLSMode = .disable
        public var passwordFile: String?
        /// The name of an environment variable holding the password.
        public var passwordEnv: String?

        struct URLProblem: Error {
            let text: String
        }

        public enum TLSMode: String, Sendable, Equatable, CaseIterable {
            case disable
            case require
            case verifyFull = "verify-full"
        }

        /// `postgres://user@host:5432/tollgate?sslmode=require` (no password in the URL).
        static func parse(url: String) -> Result<Database, URLProblem> {
            guard let c = URLComponents(string: url), c.scheme == "postgres" || c.scheme == "postgresql" else {
                return .failure(URLProblem(text: "expected postgres://USER@HOST:PORT/DATABASE"))
            }
            guard c.password == nil else {
                return .failure(URLProblem(text: "the password does not go in the URL; use password_file or password_env"))
            }
            guard let host = c.host, !host.isEmpty else { return .failure(URLProblem(text: "no host")) }
            guard let user = c.user, !user.isEmpty else { return .failure(URLProblem(text: "no user (postgres://USER@HOST/DATABASE)")) }
            let name = String(c.path.dropFirst())
            guard !name.isEmpty, !name.contains("/") else { return .failure(URLProblem(text: "no database name (postgres://USER@HOST/DATABASE)")) }
            let port = c.port ?? 5432
            guard (1...65535).contains(port) else { return .failure(URLProblem(text: "port out of range")) }
            var d = Database(host: host, port: port, user: user, name: name)
            for item in c.queryItems ?? [] {
                guard item.name == "sslmode" else { return .failure(URLProblem(text: "unknown parameter \(item.name) (only sslmode)")) }
                guard let mode = TLSMode(rawValue: item.value ?? "") else {
                    return .failure(URLProblem(text: "sslmode: one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))"))
                }
                d.tls = mode
            }
            return .success(d)
        }
    }

    /// `cluster:`: this node's place among the nodes sharing `database:`.
    public struct Cluster: Sendable, Equatable {
        /// The node's name, unique in the cluster (logs, metrics, ownership). Default: the host name.
        public var node: String = ProcessInfo.processInfo.hostName
        /// Where the other nodes reach this one (forwarded requests).
        public var advertiseURL: String?
        /// The shared secret: signs forwarded requests, seals the keys stored in the database.
        public var secretFile: String = ""
    }
}

extension ConfigReader {
    mutating func readDatabase(_ node: Node, into c: inout TollgateConfiguration) {
        var url: String?
        var passwordFile: String?
        var passwordEnv: String?
        fields(of: node, at: "database") { r, f in
            switch f.key {
            case "url": url = r.string(f.value, f.path)
            case "password_file": passwordFile = r.string(f.value, f.path)
            case "password_env": passwordEnv = r.string(f.value, f.path)
            case "password":
                r.problem(
                    f.path,
                    "passwords are not kept in the configuration; put it in a file (mode 0600) named by password_file, or use password_env"
                )
            default: return false
            }
            return true
        }
        guard let url else {
            if !problems.contains(where: { $0.hasPrefix("database.url") }) { problem("database.url", "required") }
            return
        }
        switch TollgateConfiguration.Database.parse(url: url) {
        case .failure(let p): problem("database.url", p.text)
        case .success(var d):
            if passwordFile != nil, passwordEnv != nil { problem("database", "password_file and password_env: give one") }
            d.passwordFile = passwordFile
            d.passwordEnv = passwordEnv
            c.database = d
        }
    }

    mutating func readCluster(_ node: Node, into c: inout TollgateConfiguration) {
        var s = TollgateConfiguration.Cluster()
        fields(of: node, at: "cluster") { r, f in
            switch f.key {
            case "node":
                guard let v = r.string(f.value, f.path) else { return true }
                if ConfigValues.isNodeName(v) {
                    s.node = v
                } else {
                    r.problem(f.path, "1 to 64 letters, digits, '.', '-' or '_'")
                }
            case "advertise_url":
                guard let v = r.string(f.value, f.path) else { return true }
                if ConfigValues.isHTTPURL(v) { s.advertiseURL = v } else { r.problem(f.path, "not an http(s) URL") }
            case "secret_file": if let v = r.string(f.value, f.path) { s.secretFile = v }
            default: return false
            }
            return true
        }
        if s.secretFile.isEmpty, !problems.contains(where: { $0.hasPrefix("cluster.secret_file") }) {
            problem("cluster.secret_file", "required")
        }
        c.cluster = s
    }

    mutating func validateCluster(_ c: TollgateConfiguration) {
        let problems = self.problems
        let said = { (key: String) in problems.contains { $0.hasPrefix(key) } }
        if c.database != nil, c.cluster == nil, !said("cluster") {
            problem("cluster", "required with database: (node, advertise_url, secret_file)")
        }
        if c.cluster != nil, c.database == nil, !said("database") { problem("database", "required with cluster:") }
    }
}

extension ConfigValues {
    /// A cluster node's name: 1–64 of `A-Za-z0-9._-`.
    public static func isNodeName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64
            && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_") }
    }
}

extension TollgateConfiguration {
    /// Where other nodes reach this one: `cluster.advertise_url`, else the listen address
    /// (loopback for a wildcard one: fine for nodes on one machine only).
    public var advertiseURL: String {
        if let url = cluster?.advertiseURL { return url.hasSuffix("/") ? String(url.dropLast()) : url }
        let scheme = tls == nil ? "http" : "https"
        let host = ["0.0.0.0", "::", ""].contains(listenHost) ? "127.0.0.1" : listenHost
        return "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(listenPort)"
    }
}
