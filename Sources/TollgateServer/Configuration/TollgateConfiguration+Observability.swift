import Foundation
import Logging
import Yams

extension TollgateConfiguration {
    /// `/metrics` (Prometheus text format), answered to clients in `allow` only.
    public struct Metrics: Sendable, Equatable {
        public var enabled = true
        public var allow: [String] = ["127.0.0.0/8", "::1/128"]
    }

    public struct Log: Sendable, Equatable {
        public var level = Logger.Level.info
        public var format = LogFormat.text
        /// One line per request.
        public var access = true
    }
}

/// How log lines are written (`log.format`).
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

extension ConfigReader {
    mutating func readMetrics(_ node: Node, into metrics: inout TollgateConfiguration.Metrics) {
        fields(of: node, at: "metrics") { r, f in
            switch f.key {
            case "enabled": if let v = r.bool(f.value, f.path) { metrics.enabled = v }
            case "allow":
                guard let list = r.stringList(f.value, f.path) else { return true }
                for (i, cidr) in list.enumerated() where AddressRange(cidr) == nil {
                    r.problem("\(f.path)[\(i)]", "not an address or CIDR range (examples: 10.0.0.0/8, ::1)")
                }
                metrics.allow = list
            default: return false
            }
            return true
        }
    }

    mutating func readLog(_ node: Node, into l: inout TollgateConfiguration.Log) {
        fields(of: node, at: "log") { r, f in
            switch f.key {
            case "level": if let v = r.oneOf(Logger.Level.self, f.value, f.path) { l.level = v }
            case "format": if let v = r.oneOf(LogFormat.self, f.value, f.path) { l.format = v }
            case "access": if let v = r.bool(f.value, f.path) { l.access = v }
            default: return false
            }
            return true
        }
    }
}
