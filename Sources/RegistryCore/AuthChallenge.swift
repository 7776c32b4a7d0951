/// One challenge from a `WWW-Authenticate` header: a scheme and its auth-params.
public struct AuthChallenge: Equatable, Sendable {
    public var scheme: String
    public var parameters: [String: String]

    public init(scheme: String, parameters: [String: String]) {
        self.scheme = scheme
        self.parameters = parameters
    }

    public var isBearer: Bool { scheme.lowercased() == "bearer" }
    public var isBasic: Bool { scheme.lowercased() == "basic" }
    public var realm: String? { parameters["realm"] }
    public var service: String? { parameters["service"] }
    public var scope: String? { parameters["scope"] }

    /// Parses every challenge in a header value (RFC 9110 §11.6.1), e.g.
    /// `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"`.
    /// Malformed input yields what could be read, never a crash.
    public static func parse(_ header: String) -> [AuthChallenge] {
        var result: [AuthChallenge] = []
        var s = Substring(header)
        func skipSpaces() { while let c = s.first, c == " " || c == "\t" || c == "," { s.removeFirst() } }
        func token() -> Substring {
            let end = s.firstIndex(where: { c in c == " " || c == "\t" || c == "," || c == "=" }) ?? s.endIndex
            let t = s[..<end]
            s = s[end...]
            return t
        }
        skipSpaces()
        guard header.utf8.count <= 8192 else { return [] }
        while !s.isEmpty {
            let scheme = token()
            guard !scheme.isEmpty else { break }
            var challenge = AuthChallenge(scheme: String(scheme), parameters: [:])
            // params: key=value or key="quoted", separated by commas
            while true {
                while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
                let save = s
                if s.first == "," { s.removeFirst() }
                while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
                let key = token()
                guard !key.isEmpty, s.first == "=" else {
                    // Not a param: either the next scheme or the end.
                    if key.isEmpty { s = s.drop(while: { $0 == "," || $0 == " " }) } else { s = save }
                    break
                }
                s.removeFirst()  // "="
                var value = ""
                if s.first == "\"" {
                    s.removeFirst()
                    while let c = s.first {
                        s.removeFirst()
                        if c == "\\", let n = s.first {
                            value.append(n)
                            s.removeFirst()
                        } else if c == "\"" {
                            break
                        } else {
                            value.append(c)
                        }
                    }
                } else {
                    value = String(token())
                }
                challenge.parameters[key.lowercased()] = value
            }
            result.append(challenge)
            skipSpaces()
        }
        return result
    }
}
