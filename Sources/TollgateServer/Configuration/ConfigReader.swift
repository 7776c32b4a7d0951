import Foundation
import TollgateAuth
import TollgateLimits
import Yams

/// Walks the YAML tree, collecting every problem with its key path instead of stopping at the first.
struct ConfigReader {
    var problems: [String] = []

    mutating func problem(_ path: String, _ text: String) { problems.append("\(path): \(text)") }

    mutating func mapping(_ node: Node, _ path: String) -> [(String, Node)]? {
        guard case .mapping(let m) = node else {
            problem(path.isEmpty ? "(top level)" : path, "expected a mapping")
            return nil
        }
        var out: [(String, Node)] = []
        for (k, v) in m {
            guard case .scalar(let s) = k else {
                problem(path, "keys must be strings")
                continue
            }
            out.append((s.string, v))
        }
        return out
    }

    mutating func string(_ node: Node, _ path: String) -> String? {
        guard case .scalar(let s) = node else {
            problem(path, "expected a string")
            return nil
        }
        return s.string
    }

    mutating func bool(_ node: Node, _ path: String) -> Bool? {
        guard let s = string(node, path) else { return nil }
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            problem(path, "expected true or false")
            return nil
        }
    }

    mutating func int(_ node: Node, _ path: String) -> Int? {
        guard let s = string(node, path) else { return nil }
        guard let v = Int(s) else {
            problem(path, "expected a whole number")
            return nil
        }
        return v
    }

    mutating func stringList(_ node: Node, _ path: String) -> [String]? {
        guard case .sequence(let seq) = node else {
            problem(path, "expected a list")
            return nil
        }
        return seq.enumerated().compactMap { i, n in string(n, "\(path)[\(i)]") }
    }

    mutating func duration(_ node: Node, _ path: String) -> Duration? {
        guard let s = string(node, path) else { return nil }
        guard let d = ConfigValues.duration(s) else {
            problem(path, "not a duration (examples: 30s, 5m, 6h, 7d)")
            return nil
        }
        return d
    }

    mutating func size(_ node: Node, _ path: String) -> Int64? {
        guard let s = string(node, path) else { return nil }
        guard let v = ConfigValues.size(s) else {
            problem(path, "not a size (examples: 500MB, 20GiB)")
            return nil
        }
        return v
    }

    /// One key of a section: its name, value and key path (`auth.token.ttl`).
    struct Field {
        let key: String
        let value: Node
        let path: String
    }

    /// Reads the mapping at `path` key by key; `read` returns false for a key it doesn't know,
    /// which is reported as unknown. (The reader is passed in, as the section being read is.)
    /// False when the node is not a mapping (reported).
    @discardableResult
    mutating func fields(of node: Node, at path: String, _ read: (inout ConfigReader, Field) -> Bool) -> Bool {
        guard let m = mapping(node, path) else { return false }
        for (key, value) in m where !read(&self, Field(key: key, value: value, path: "\(path).\(key)")) {
            unknown(path, key)
        }
        return true
    }

    /// A value of a fixed set (an enum whose raw values are the spellings).
    mutating func oneOf<T: RawRepresentable & CaseIterable>(_ type: T.Type, _ node: Node, _ path: String) -> T?
    where T.RawValue == String {
        guard let s = string(node, path) else { return nil }
        if let v = T(rawValue: s) { return v }
        let all = T.allCases.map(\.rawValue)
        let list = all.count == 2 ? "\(all[0]) or \(all[1])" : "one of " + all.joined(separator: ", ")
        problem(path, "expected \(list)")
        return nil
    }

    mutating func unknown(_ path: String, _ key: String) { problem(path.isEmpty ? key : "\(path).\(key)", "unknown key") }

    mutating func read(_ root: Node, into c: inout TollgateConfiguration) {
        guard let top = mapping(root, "") else { return }
        var sawUpstreams = false
        for (key, value) in top {
            switch key {
            case "listen":
                guard let s = string(value, key) else { continue }
                if let (host, port) = ConfigValues.hostPort(s) {
                    c.listenHost = host
                    c.listenPort = port
                } else {
                    problem(key, "expected host:port, e.g. 0.0.0.0:5000 or [::]:5000")
                }
            case "public_url":
                guard let s = string(value, key) else { continue }
                if ConfigValues.isHTTPURL(s) { c.publicURL = s } else { problem(key, "not an http(s) URL") }
            case "tls":
                readTLS(value, into: &c)
            case "storage":
                readStorage(value, into: &c.storage)
            case "database":
                readDatabase(value, into: &c)
            case "cluster":
                readCluster(value, into: &c)
            case "upstreams":
                sawUpstreams = true
                readUpstreams(value, into: &c)
            case "trusted_proxies":
                guard let list = stringList(value, key) else { continue }
                for (i, cidr) in list.enumerated() where AddressRange(cidr) == nil {
                    problem("\(key)[\(i)]", "not an address or CIDR range (examples: 127.0.0.1, 10.0.0.0/8)")
                }
                c.trustedProxies = list
            case "server":
                readServer(value, into: &c.server)
            case "shutdown_timeout":
                if let d = duration(value, key) { c.shutdownTimeout = d }
            case "default_upstream":
                if let s = string(value, key) { c.defaultUpstream = s }
            case "log":
                readLog(value, into: &c.log)
            case "auth":
                readAuth(value, into: &c.auth)
            case "plans":
                readPlans(value, into: &c)
            case "default_plan":
                if let v = string(value, key) { c.defaultPlan = v }
            case "metrics":
                readMetrics(value, into: &c.metrics)
            case "web":
                readWeb(value, into: &c.web)
            case "limits":
                fields(of: value, at: key) { r, f in
                    guard f.key == "enabled" else { return false }
                    if let b = r.bool(f.value, f.path) { c.limitsEnabled = b }
                    return true
                }
            default:
                unknown("", key)
            }
        }
        if !sawUpstreams {
            let d = TollgateConfiguration.embeddedDefault
            c.upstreams = d.upstreams
            c.upstreamOrder = d.upstreamOrder
        }
    }




    /// A mapping; `{}` and an empty value (`free:`) are an empty one.
    mutating func mappingOrEmpty(_ node: Node, _ path: String) -> [(String, Node)]? {
        if case .scalar(let s) = node, s.string.isEmpty || s.string == "~" || s.string == "null" { return [] }
        return mapping(node, path)
    }






    mutating func validate(_ c: inout TollgateConfiguration) {
        if c.upstreams[c.defaultUpstream] == nil {
            problem("default_upstream", "\"\(c.defaultUpstream)\" is not a configured upstream")
        }
        var seen: [String: String] = [:]
        for name in c.upstreamOrder {
            for alias in c.upstreams[name]?.aliases ?? [] {
                if let other = seen[alias] {
                    problem("upstreams.\(name).aliases", "\(alias) is already an alias of \(other)")
                }
                seen[alias] = name
            }
        }
        if c.storage.path.isEmpty { problem("storage.path", "must not be empty") }
        validateCluster(c)
        if c.plans[c.defaultPlan] == nil {
            problem("default_plan", "\"\(c.defaultPlan)\" is not a plan (plans: \(c.plans.keys.sorted().joined(separator: ", ")))")
        }
    }
}

