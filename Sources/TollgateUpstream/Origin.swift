import Foundation

/// The scheme, host and port of a URL: the unit credentials are scoped to (RFC 6454 origin).
struct Origin: Equatable, Sendable, CustomStringConvertible {
    let scheme: String
    let host: String
    let port: Int

    init?(_ url: URL) {
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host?.lowercased(), !host.isEmpty
        else { return nil }
        self.scheme = scheme
        self.host = host
        self.port = url.port ?? (scheme == "https" ? 443 : 80)
    }

    init?(_ string: String) {
        guard let url = URL(string: string) else { return nil }
        self.init(url)
    }

    var description: String { "\(scheme)://\(host):\(port)" }
}
