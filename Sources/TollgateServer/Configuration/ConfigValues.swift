import Foundation
import RegistryCore
import TollgateLimits

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
    public static func size(_ s: String) -> Int64? { ByteCount.parse(s) }

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
    public static func isRegistryHostName(_ s: String) -> Bool { UpstreamName.isValid(s) }
}
