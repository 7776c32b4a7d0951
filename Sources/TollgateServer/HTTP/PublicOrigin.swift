import RegistryCore

/// Where a client reached the mirror (scheme and `host[:port]`): the base of the token realm when
/// `public_url` is not set. Taken from the request's Host and the listener's scheme; from a trusted
/// reverse proxy, `X-Forwarded-Proto`/`X-Forwarded-Host` (or else `Forwarded`'s `proto`/`host`)
/// replace them. (Kept free of Hummingbird, like `ForwardedFor`.)
struct PublicOrigin: Equatable, Sendable {
    var scheme: String
    var host: String
    var url: String { "\(scheme)://\(host)" }

    enum Problem: Error, Equatable {
        case badHost, conflictingHosts, badForwardedHost, badForwardedProto

        var message: String {
            switch self {
            case .badHost: "the Host header is not a valid host[:port]"
            case .conflictingHosts: "more than one Host, and they differ"
            case .badForwardedHost: "the forwarded host is not a valid host[:port]"
            case .badForwardedProto: "the forwarded protocol is neither http nor https"
            }
        }
    }

    /// The host a request names: its authority (HTTP/1.1's first `Host`, HTTP/2's `:authority`)
    /// and any `Host` fields left besides it (a second HTTP/1.1 `Host`; HTTP/2 may carry `Host`
    /// instead of, or as well as, `:authority`). Several that differ are refused: which one a
    /// proxy in front of us read can't be known.
    static func authority(_ pseudo: String?, hostFields: [String]) -> Result<String?, Problem> {
        let all = (pseudo.map { [$0] } ?? []) + hostFields
        guard let first = all.first else { return .success(nil) }
        return all.allSatisfy { $0 == first } ? .success(first) : .failure(.conflictingHosts)
    }

    /// nil when the request names no host (HTTP/1.0 without Host).
    static func resolve(
        authority: String?, scheme: String, trustedPeer: Bool,
        forwardedProto: [String] = [], forwardedHost: [String] = [], forwarded: [String] = []
    ) -> Result<PublicOrigin?, Problem> {
        if let authority, !HostPort.isValid(authority) { return .failure(.badHost) }
        var origin = authority.map { PublicOrigin(scheme: scheme, host: $0) }
        guard trustedPeer else { return .success(origin) }
        var proto = firstElement(forwardedProto)
        var host = firstElement(forwardedHost)
        if proto == nil, host == nil, let element = firstElement(forwarded, quoted: true) {
            let pairs = parameters(element)
            proto = pairs["proto"]
            host = pairs["host"]
        }
        if let host {
            guard HostPort.isValid(host) else { return .failure(.badForwardedHost) }
            origin = PublicOrigin(scheme: origin?.scheme ?? scheme, host: host)
        }
        if let proto {
            let p = proto.lowercased()
            guard p == "http" || p == "https" else { return .failure(.badForwardedProto) }
            origin?.scheme = p
        }
        return .success(origin)
    }

    /// The first comma-separated element of the first line of a header (the hop nearest the
    /// client: what it asked for), trimmed; commas inside quotes don't split when `quoted`.
    static func firstElement(_ lines: [String], quoted: Bool = false) -> String? {
        guard let line = lines.first else { return nil }
        var inQuotes = false
        var escaped = false
        var end = line.endIndex
        for i in line.indices {
            let c = line[i]
            if escaped { escaped = false; continue }
            if quoted, c == "\\", inQuotes { escaped = true; continue }
            if quoted, c == "\"" { inQuotes.toggle(); continue }
            if c == ",", !inQuotes { end = i; break }
        }
        let element = line[..<end].trimmingBlanks
        return element.isEmpty ? nil : String(element)
    }

    /// `key=value;key="value"` (RFC 7239), keys lowercased, quotes and escapes removed; a key
    /// given twice keeps its first value.
    static func parameters(_ element: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in element.split(separator: ";") {
            guard let eq = pair.firstIndex(of: "=") else { continue }
            let key = pair[..<eq].trimmingBlanks.lowercased()
            var value = Substring(pair[pair.index(after: eq)...].trimmingBlanks)
            if value.count >= 2, value.first == "\"", value.last == "\"" {
                value = value.dropFirst().dropLast()
                var unescaped = ""
                var escaped = false
                for c in value {
                    if !escaped, c == "\\" { escaped = true; continue }
                    escaped = false
                    unescaped.append(c)
                }
                value = Substring(unescaped)
            }
            if result[key] == nil { result[key] = String(value) }
        }
        return result
    }
}

extension Substring {
    fileprivate var trimmingBlanks: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}

extension String {
    fileprivate var trimmingBlanks: Substring { self[...].trimmingBlanks }
}
