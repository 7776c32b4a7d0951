import HTTPTypes
import Hummingbird
import RegistryCore

extension HTTPField.Name {
    static let host = Self("Host")!
    static let xForwardedProto = Self("X-Forwarded-Proto")!
    static let xForwardedHost = Self("X-Forwarded-Host")!
    static let forwarded = Self("Forwarded")!
}

/// Refuses a request whose Host (or, from a trusted proxy, forwarded host or protocol) is not a
/// valid `host[:port]`, without echoing it, and records the base URL the client reached the
/// mirror at (`context.publicBase`): `public_url` when set, else `PublicOrigin` of the request.
struct PublicOriginMiddleware: RouterMiddleware {
    typealias Context = TollgateContext
    /// `public_url` without a trailing slash.
    let publicURL: String?
    /// The listener's scheme (`https` with built-in TLS).
    let scheme: String
    let trusted: [AddressRange]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let forwardedProto = request.headers[values: .xForwardedProto]
        let forwardedHost = request.headers[values: .xForwardedHost]
        let forwarded = request.headers[values: .forwarded]
        // The peer's address is looked at only when there is something it could vouch for.
        let forwarding = !(forwardedProto.isEmpty && forwardedHost.isEmpty && forwarded.isEmpty)
        let trustedPeer =
            forwarding && !trusted.isEmpty
            && (context.remoteAddress?.ipAddress.map { peer in trusted.contains { $0.contains(peer) } } ?? false)
        let host = PublicOrigin.authority(request.head.authority, hostFields: request.headers[values: .host])
        let resolved = host.flatMap { authority in
            PublicOrigin.resolve(
                authority: authority, scheme: scheme, trustedPeer: trustedPeer, forwardedProto: forwardedProto,
                forwardedHost: forwardedHost, forwarded: forwarded)
        }
        var context = context
        switch resolved {
        case .failure(let problem): throw RegistryError(.parameterInvalid, problem.message)
        case .success(let origin): context.publicBase = publicURL ?? origin?.url
        }
        return try await next(request, context)
    }
}
