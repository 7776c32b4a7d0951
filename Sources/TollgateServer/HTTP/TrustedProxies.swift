/// `trusted_proxies`: the reverse proxies whose forwarding headers (`X-Forwarded-For`,
/// `X-Forwarded-Proto`/`-Host`, `Forwarded`) are believed.
struct TrustedProxies: Sendable {
    let ranges: [AddressRange]

    init(_ config: [String]) { ranges = config.compactMap(AddressRange.init) }

    var isEmpty: Bool { ranges.isEmpty }

    func contains(_ address: String) -> Bool { ranges.contains { $0.contains(address) } }

    /// Whether the connection's peer is one of them.
    func contains(peerOf context: TollgateContext) -> Bool {
        guard !ranges.isEmpty, let peer = context.remoteAddress?.ipAddress else { return false }
        return contains(peer)
    }
}
