/// `X-Forwarded-For` as a chain of reverse proxies writes it (kept apart from
/// `ClientAddressMiddleware`, which needs Hummingbird, so Fuzz/ForwardedFor can compile it alone).
enum ForwardedFor {
    /// The right-most address of the header's lines that `isTrusted` does not claim (entries further
    /// left are whatever the client sent); nil when every hop is trusted or one on the way is not
    /// an address (garbage: don't guess). Split on bytes: a client's last character can't absorb
    /// the `,` its proxy appends (as "\u{600}," is one Character), and hops are trimmed of
    /// spaces and tabs only.
    static func client(forwardedFor values: [String], isTrusted: (String) -> Bool) -> String? {
        for value in values.reversed() {
            for hop in value.utf8.split(separator: UInt8(ascii: ",")).reversed() {
                let text = String(Substring(trimmingBlanks(hop)))
                guard AddressRange.parse(text) != nil else { return nil }  // garbage: don't guess
                if !isTrusted(text) { return text }
            }
        }
        return nil
    }

    private static func trimmingBlanks(_ s: Substring.UTF8View) -> Substring.UTF8View {
        let blank = { (b: UInt8) in b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") }
        var s = s
        while let f = s.first, blank(f) { s.removeFirst() }
        while let l = s.last, blank(l) { s.removeLast() }
        return s
    }
}
