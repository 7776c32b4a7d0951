import Foundation
import Yams

extension TollgateConfiguration {
    public struct TLS: Sendable, Equatable {
        public var certificate: String
        public var key: String
        /// Offer HTTP/2 (ALPN `h2`) besides HTTP/1.1.
        public var http2 = true
    }
}

extension ConfigReader {
    mutating func readTLS(_ node: Node, into c: inout TollgateConfiguration) {
        var tls = TollgateConfiguration.TLS(certificate: "", key: "")
        let read = fields(of: node, at: "tls") { r, f in
            switch f.key {
            case "certificate": if let v = r.string(f.value, f.path) { tls.certificate = v }
            case "key": if let v = r.string(f.value, f.path) { tls.key = v }
            case "http2": if let v = r.bool(f.value, f.path) { tls.http2 = v }
            default: return false
            }
            return true
        }
        guard read else { return }
        if tls.certificate.isEmpty { problem("tls.certificate", "required (a PEM certificate chain file)") }
        if tls.key.isEmpty { problem("tls.key", "required (a PEM private key file)") }
        c.tls = tls
    }
}
