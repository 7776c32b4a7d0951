import RegistryCore

/// Which upstream a request is for, and the repository name there. Pure: decided from the
/// configuration, the `ns` query parameter, the Host header and the name alone.
public struct UpstreamRouter: Sendable {
    /// Upstream keys (`docker.io`, `ghcr.io`, …).
    public let upstreams: Set<String>
    /// Host name (lowercased, without port) → upstream key.
    public let aliases: [String: String]
    public let defaultUpstream: String

    public init(upstreams: Set<String>, aliases: [String: String], defaultUpstream: String) {
        self.upstreams = upstreams
        self.aliases = aliases
        self.defaultUpstream = defaultUpstream
    }

    public init(_ config: TollgateConfiguration) {
        var aliases: [String: String] = [:]
        for (name, u) in config.upstreams {
            for a in u.aliases { aliases[Self.hostWithoutPort(a)] = name }
        }
        self.init(upstreams: Set(config.upstreams.keys), aliases: aliases, defaultUpstream: config.defaultUpstream)
    }

    public enum Mode: String, Sendable {
        case namespace, alias, prefix, `default`
    }

    public struct Route: Equatable, Sendable {
        public var upstream: String
        /// The name at the upstream.
        public var repository: RepositoryName
        public var mode: Mode
    }

    /// Docker Hub's names: `index.docker.io` etc. are docker.io.
    static let dockerHubNames: Set<String> = ["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]

    /// Routes `name` as the client sent it. Throws NAME_UNKNOWN for an `ns` that isn't configured:
    /// an unknown registry is never contacted.
    public func route(name: RepositoryName, namespace: String?, host: String?) throws -> Route {
        if let ns = namespace?.lowercased() {
            guard let upstream = resolve(ns) else {
                throw RegistryError(.nameUnknown, "registry \"\(ns.prefix(100))\" is not mirrored here", detail: name.value)
            }
            return Route(upstream: upstream, repository: normalize(name, for: upstream), mode: .namespace)
        }
        if let host, let upstream = aliases[Self.hostWithoutPort(host.lowercased())] {
            return Route(upstream: upstream, repository: normalize(name, for: upstream), mode: .alias)
        }
        let components = name.components
        if components.count >= 2, let upstream = resolve(String(components[0])) {
            // Safe: the rest of a valid name is a valid name.
            let rest = try RepositoryName(parsing: components.dropFirst().joined(separator: "/"))
            return Route(upstream: upstream, repository: normalize(rest, for: upstream), mode: .prefix)
        }
        return Route(upstream: defaultUpstream, repository: normalize(name, for: defaultUpstream), mode: .default)
    }

    /// A configured upstream key for a registry name (Docker Hub's aliases included).
    func resolve(_ registry: String) -> String? {
        if upstreams.contains(registry) { return registry }
        if Self.dockerHubNames.contains(registry), upstreams.contains("docker.io") { return "docker.io" }
        return nil
    }

    /// Docker Hub's official images live under `library/`.
    func normalize(_ name: RepositoryName, for upstream: String) -> RepositoryName {
        if upstream == "docker.io", name.components.count == 1 { return name.prefixed("library") }
        return name
    }

    static func hostWithoutPort(_ host: String) -> String {
        if host.hasPrefix("[") { return String(host.prefix(through: host.firstIndex(of: "]") ?? host.startIndex)) }
        if let colon = host.lastIndex(of: ":"), host.firstIndex(of: ":") == colon { return String(host[..<colon]) }
        return host
    }
}
