import Foundation

/// What an `Authorization` header carries.
enum Credentials: Equatable {
    case none
    case basic(user: String, password: String)
    case bearer(String)

    init(_ header: String?) {
        guard let header, header.utf8.count <= 16 << 10 else {
            self = .none
            return
        }
        // Byte-level split and trim: Foundation's trimming costs tens of µs on a token with x5c.
        let parts = header.utf8.split(separator: UInt8(ascii: " "), maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, let scheme = String(parts[0]) else {
            self = .none
            return
        }
        var bytes = parts[1]
        while let last = bytes.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { bytes = bytes.dropLast() }
        let value = String(Substring(bytes))
        switch scheme.lowercased() {
        case "bearer":
            self = .bearer(value)
        case "basic":
            guard let data = Data(base64Encoded: value),
                let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
            else {
                self = .basic(user: "\u{0}", password: "")  // undecodable: a failed login, not anonymous
                return
            }
            let user = String(text[..<colon]), password = String(text[text.index(after: colon)...])
            // c/image sends `Basic Og==` (":") when it has no credentials: that is anonymous.
            self = user.isEmpty && password.isEmpty ? .none : .basic(user: user, password: password)
        default:
            self = .none
        }
    }
}
