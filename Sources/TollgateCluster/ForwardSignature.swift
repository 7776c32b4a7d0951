import Crypto
import Foundation

/// Who a forwarded request is for, as the forwarding node signed it.
public struct ForwardedCaller: Sendable, Equatable {
    /// The node that authenticated the caller and applied their limits.
    public var node: String
    /// The caller: a user name, nil for anonymous.
    public var user: String?
    /// The caller's address (for logs and anonymous address groups), if known.
    public var client: String?

    public init(node: String, user: String?, client: String?) {
        self.node = node
        self.user = user
        self.client = client
    }
}

/// Signs and checks the `Tollgate-Forwarded` header a node puts on a request it forwards to the
/// owner of the content: HMAC-SHA256, under a key derived from the cluster secret, over the
/// method, the request target, the caller, the sending node and the time. The owner trusts the
/// caller named in a valid header (the sender authenticated them) and never forwards such a
/// request again. A header older (or newer) than `maxSkew` seconds is refused.
public struct ForwardSigner: Sendable {
    public static let headerName = "Tollgate-Forwarded"
    let key: SymmetricKey
    let maxSkew: Int64

    public init(secret: String, maxSkew: Int64 = 30) {
        self.key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: Data(secret.utf8)), salt: Data("tollgate".utf8),
            info: Data("tollgate forwarded requests v1".utf8), outputByteCount: 32)
        self.maxSkew = maxSkew
    }

    /// The header's value for a request (`target`: path and query, as sent).
    public func sign(method: String, target: String, for who: ForwardedCaller, at time: Int64) -> String {
        let fields = "v1 node=\(who.node) user=\(who.user ?? "-") client=\(who.client ?? "-") t=\(time)"
        return fields + " sig=" + mac(fields, method: method, target: target)
    }

    /// The caller a header names, if it is well formed, signed with this secret for this request,
    /// and recent; nil otherwise.
    public func verify(_ value: String, method: String, target: String, now: Int64) -> ForwardedCaller? {
        guard value.utf8.count <= 512, let sigRange = value.range(of: " sig=") else { return nil }
        let fields = String(value[..<sigRange.lowerBound])
        let sig = String(value[sigRange.upperBound...])
        let parts = fields.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "v1" else { return nil }
        var values: [String: String] = [:]
        for part in parts.dropFirst() {
            guard let eq = part.firstIndex(of: "="), !part[part.index(after: eq)...].isEmpty else { return nil }
            values[String(part[..<eq])] = String(part[part.index(after: eq)...])
        }
        guard let node = values["node"], let user = values["user"], let client = values["client"],
            let t = values["t"].flatMap({ Int64($0) }), abs(now - t) <= maxSkew
        else { return nil }
        let expected = mac(fields, method: method, target: target)
        // Constant-time comparison of the two MACs.
        guard expected.utf8.count == sig.utf8.count,
            zip(expected.utf8, sig.utf8).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0
        else { return nil }
        return ForwardedCaller(node: node, user: user == "-" ? nil : user, client: client == "-" ? nil : client)
    }

    private func mac(_ fields: String, method: String, target: String) -> String {
        let message = "\(fields)\n\(method)\n\(target)"
        let code = HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: key)
        return Data(code).base64EncodedString()
    }
}
