import Foundation
import TollgateLimits
import Yams

/// Everything `tollgate serve` is configured with (`tollgate.yaml`). See README for each key.
/// Each section's schema and reading is in `TollgateConfiguration+<Section>.swift`; the YAML
/// walker's primitives and the top level in `ConfigReader`, the value syntaxes in `ConfigValues`.
public struct TollgateConfiguration: Sendable, Equatable {
    public var listenHost = "0.0.0.0"
    public var listenPort = 5000
    /// The base of the token realm (`<public_url>/token`). Unset: built from each request's Host
    /// (and scheme), or what a trusted proxy forwarded.
    public var publicURL: String?
    public var storage = Storage()
    /// Shared state in PostgreSQL (cluster mode); nil: the embedded engine.
    public var database: Database?
    /// This node in the cluster; set exactly when `database` is.
    public var cluster: Cluster?
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
    /// The web console (`web:`).
    public var web = Web()
    /// Reverse proxies whose `X-Forwarded-For` names the client (CIDRs).
    public var trustedProxies: [String] = []
    /// Serve HTTPS (and HTTP/2) with this certificate; nil: plain HTTP.
    public var tls: TLS?
    /// Connection timeouts and caps (`server:`).
    public var server = Server()

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
