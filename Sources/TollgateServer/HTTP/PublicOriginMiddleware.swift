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
/// valid `host[:port]`, without echoing it, and records where the client reached the mirror
/// (`context.publicOrigin`), of which `AuthMiddleware` makes the realm when `public_url` is unset.
struct PublicOriginMiddleware: RouterMiddleware {
    typealias Context = TollgateContext
    /// The listener's scheme (`https` with built-in TLS).
    let scheme: String
    let trusted: TrustedProxies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let host = PublicOrigin.authority(request.head.authority, hostFields: request.headers[values: .host])
        let resolved = host.flatMap { authority in
            // Forwarding headers count only from a trusted proxy: without one they aren't looked at.
            guard trusted.contains(peerOf: context) else {
                return PublicOrigin.resolve(authority: authority, scheme: scheme, trustedPeer: false)
            }
            return PublicOrigin.resolve(
                authority: authority, scheme: scheme, trustedPeer: true,
                forwardedProto: request.headers[values: .xForwardedProto],
                forwardedHost: request.headers[values: .xForwardedHost], forwarded: request.headers[values: .forwarded])
        }
        var context = context
        switch resolved {
        case .failure(let problem): throw RegistryError(.parameterInvalid, problem.message)
        case .success(let origin): context.publicOrigin = origin
        }
        return try await next(request, context)
    }
}
