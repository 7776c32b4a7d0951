import Yams

extension TollgateConfiguration {
    /// The web console: on by default at `/`; `path_prefix` puts it under a path (a reverse
    /// proxy that serves it as `https://example.com/mirror/`).
    public struct Web: Sendable, Equatable {
        public var enabled = true
        /// "" (at `/`) or a path such as "/console", without a trailing slash.
        public var pathPrefix = ""
    }
}

extension ConfigReader {
    /// Paths the registry, the token server and the probes answer: a console prefix can't take them.
    static let reservedPaths = ["/v2", "/token", "/usage", "/metrics", "/healthz", "/readyz", "/_cluster"]

    mutating func readWeb(_ node: Node, into web: inout TollgateConfiguration.Web) {
        fields(of: node, at: "web") { r, f in
            switch f.key {
            case "enabled": if let v = r.bool(f.value, f.path) { web.enabled = v }
            case "path_prefix":
                guard let v = r.string(f.value, f.path) else { return true }
                var p = v
                while p.hasSuffix("/") { p.removeLast() }
                let ok =
                    v.hasPrefix("/") && !v.contains("//") && p.utf8.count <= 100
                    && p.utf8.allSatisfy {
                        ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a)
                            || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
                            || $0 == UInt8(ascii: ".")
                    } && !p.split(separator: "/").contains { $0 == "." || $0 == ".." }
                if !ok {
                    r.problem(f.path, "a path such as /console (letters, digits, - _ . and /; at most 100 bytes)")
                } else if let taken = Self.reservedPaths.first(where: { p == $0 || p.hasPrefix($0 + "/") }) {
                    r.problem(f.path, "\(taken) is the registry's; choose another path")
                } else {
                    web.pathPrefix = p
                }
            default: return false
            }
            return true
        }
    }
}
