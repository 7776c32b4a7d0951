import Foundation
import Yams

extension TollgateConfiguration {
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
}

extension ConfigReader {
    mutating func readServer(_ node: Node, into server: inout TollgateConfiguration.Server) {
        fields(of: node, at: "server") { r, f in
            switch f.key {
            case "header_timeout", "idle_timeout", "body_timeout":
                guard let d = r.duration(f.value, f.path) else { return true }
                guard d > .zero, d <= .seconds(3600) else {
                    r.problem(f.path, "must be more than 0s and at most 1h")
                    return true
                }
                switch f.key {
                case "header_timeout": server.headerTimeout = d
                case "idle_timeout": server.idleTimeout = d
                default: server.bodyTimeout = d
                }
            case "max_connections":
                guard let n = r.int(f.value, f.path) else { return true }
                if n >= 1 { server.maxConnections = n } else { r.problem(f.path, "must be at least 1") }
            case "max_connections_per_client":
                guard let n = r.int(f.value, f.path) else { return true }
                if n >= 0 { server.maxConnectionsPerClient = n } else { r.problem(f.path, "must be 0 (no cap) or more") }
            default: return false
            }
            return true
        }
    }
}
