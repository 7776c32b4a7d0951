import HTTPTypes
import Hummingbird

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}

/// Behind a reverse proxy every connection comes from the proxy. When the peer is in
/// `trusted_proxies`, the client is the right-most address of `X-Forwarded-For` that is not itself
/// a trusted proxy (entries further left are whatever the client claimed). Without a trusted
/// peer the header is ignored, so clients can't choose their own address.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = TollgateContext
    let trusted: TrustedProxies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard trusted.contains(peerOf: context),
            let client = ForwardedFor.client(forwardedFor: request.headers[values: .xForwardedFor], isTrusted: trusted.contains)
        else { return try await next(request, context) }
        var context = context
        context.forwardedClient = client
        return try await next(request, context)
    }
}
