import RegistryCore

/// Which upstream a request is for, and the repository name there. Pure: decided from the
/// configuration, the `ns` query parameter, the Host header and the name alone.
public struct UpstreamRouter: Sendable {
    /// Upstream keys (`docker.io`, `ghcr.io`, …).
    public let upstreams: Set<UpstreamName>
    /// Host name (lowercased, without port) → upstream key.
    public let aliases: [String: UpstreamName]
    public let defaultUpstream: UpstreamName
    /// `upstreams` by their text: a request's first name component is looked up, not parsed.
    private let byText: [String: UpstreamName]

    public init(upstreams: Set<UpstreamName>, aliases: [String: UpstreamName], defaultUpstream: UpstreamName) {
        self.upstreams = upstreams
        self.byText = Dictionary(uniqueKeysWithValues: upstreams.map { ($0.value, $0) })
        self.aliases = aliases
        self.defaultUpstream = defaultUpstream
    }

    /// The configuration's keys were checked when it was read (`UpstreamName.isValid`).
    public init(_ config: TollgateConfiguration) {
        var aliases: [String: UpstreamName] = [:]
        for (key, u) in config.upstreams {
            guard let name = UpstreamName(key) else { continue }
            for a in u.aliases { aliases[Self.hostWithoutPort(a)] = name }
        }
        self.init(
            upstreams: Set(config.upstreams.keys.compactMap(UpstreamName.init)), aliases: aliases,
            defaultUpstream: UpstreamName(config.defaultUpstream) ?? .dockerHub)
    }

    public enum Mode: String, Sendable {
        case namespace, alias, prefix, `default`
    }

    public struct Route: Equatable, Sendable {
        public var upstream: UpstreamName
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
    func resolve(_ registry: String) -> UpstreamName? {
        if let name = byText[registry] { return name }
        if Self.dockerHubNames.contains(registry), upstreams.contains(.dockerHub) { return .dockerHub }
        return nil
    }

    /// Docker Hub's official images live under `library/`.
    func normalize(_ name: RepositoryName, for upstream: UpstreamName) -> RepositoryName {
        if upstream == .dockerHub, name.components.count == 1 { return name.prefixed("library") }
        return name
    }

    static func hostWithoutPort(_ host: String) -> String {
        if host.hasPrefix("[") { return String(host.prefix(through: host.firstIndex(of: "]") ?? host.startIndex)) }
        if let colon = host.lastIndex(of: ":"), host.firstIndex(of: ":") == colon { return String(host[..<colon]) }
        return host
    }
}
