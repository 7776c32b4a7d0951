import Foundation
import HTTPTypes
import Hummingbird
import RegistryCore
import TollgateAuth
import TollgateCluster

/// Authenticates every `/v2` request (and `/usage`): a Bearer token from our token server, Basic credentials
/// (htpasswd password or personal access token), or anonymous when allowed. Failures are 401
/// with Docker's Bearer challenge (with the repository scope, so clients ask for the right
/// token), 429 while a login is locked out. (The access policy needs the routed upstream, so
/// `RegistryController` applies it.)
struct AuthMiddleware: RouterMiddleware {
    typealias Context = TollgateContext
    let auth: Authenticator
    /// `public_url` without a trailing slash: the realm's base whatever the request says.
    let publicURL: String?
    let service: String
    /// With anonymous access on: serve requests that carry no credentials at all directly
    /// (plain HTTP clients), instead of answering with the token challenge. Registry clients
    /// send credentials only after a challenge, so then every pull counts as anonymous.
    var anonymousWithoutToken = false
    /// Cluster mode: checks the signature of requests other nodes forward here.
    var forwarding: ForwardSigner? = nil

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let path = request.uri.path
        let usage = path == "/usage"
        guard path == "/v2" || path.hasPrefix("/v2/") || usage else {
            return try await next(request, context)
        }
        var context = context
        // A write is refused before its path is looked at; a malformed path only once the caller
        // authenticated (an unauthenticated caller learns nothing from a private mirror).
        guard request.method == .get || request.method == .head else { throw RegistryError.unsupported }
        let parsed = usage ? .success(nil) : Result { try RegistryPath.parse(path) }
        let endpoint = (try? parsed.get()) ?? nil
        context.endpoint = endpoint
        func proceed(_ identity: Identity) async throws -> Response {
            _ = try parsed.get()
            return try await self.proceed(request, context, identity, next)
        }

        let name = endpoint?.repository?.value
        let needed: (type: String, name: String, action: String)? =
            if let name { ("repository", name, "pull") } else if endpoint == .catalog { ("registry", "catalog", "*") } else { nil }
        let scope = needed.map { "\($0.type):\($0.name):\($0.action == "*" ? "*" : "pull")" }

        if let value = request.headers[.tollgateForwarded] {
            // Another node authenticated the caller and forwards the request to this node, the
            // content's owner. Signed with the cluster secret, or refused.
            guard let forwarding,
                let who = forwarding.verify(
                    value, method: request.method.rawValue, target: request.uri.description,
                    now: Int64(Date().timeIntervalSince1970))
            else { throw RegistryError(.unauthorized, "forwarded request with an invalid signature") }
            let identity: Identity
            if let name = who.user {
                guard let user = UserName(name), await auth.isActive(name) else {
                    throw RegistryError(.unauthorized, "forwarded request for an unknown or disabled user")
                }
                identity = .user(user)
            } else {
                identity = .anonymous
            }
            context.notes.record(forwardedBy: who.node)
            if let client = who.client { context.forwardedClient = client }
            return try await proceed(identity)
        }

        let identity: Identity
        let header = request.headers[.authorization]
        if let header, header.hasPrefix("Basic "), let user = await auth.recentlyAccepted(basic: header, client: context.clientAddress) {
            identity = .user(user)
            return try await proceed(identity)
        }
        switch Credentials(header) {
        case .bearer(let token):
            switch await auth.bearer(token) {
            case .failure(let why):
                throw challenge(context, scope: scope, error: "invalid_token", message: why.description)
            case .success(let (who, access)):
                if let needed, !access.contains(where: { $0.grants(needed.action, type: needed.type, name: needed.name) }) {
                    throw challenge(context, scope: scope, error: "insufficient_scope", message: "token does not grant \(scope ?? "")")
                }
                identity = who
            }
        case .basic(let user, let password):
            switch await auth.login(user: user, password: password, client: context.clientAddress) {
            case .ok(let who, _):
                identity = who
                if let header { await auth.remember(basic: header, user: user, password: password) }
            case .invalid: throw challenge(context, scope: scope, error: nil, message: "invalid username or password")
            case .locked(let wait):
                throw RegistryError(
                    .tooManyRequests, "too many failed logins; try again in \(wait) s", retryAfter: wait)
            case .unavailable: throw RegistryError.degraded
            case .expired(let day): throw challenge(context, scope: scope, error: nil, message: "account expired on \(day)")
            }
        case .none:
            // As on Docker Hub, anonymous pulls use an anonymous token from /token: a client that
            // has credentials sends them only after this challenge, and is counted as itself.
            guard auth.anonymousAllowed, anonymousWithoutToken else {
                throw challenge(
                    context, scope: scope, error: nil,
                    message: auth.anonymousAllowed ? "a token is needed (anonymous tokens: GET /token)" : "authentication required")
            }
            identity = .anonymous
        }
        return try await proceed(identity)
    }

    private func proceed(
        _ request: Request, _ context: Context, _ identity: Identity, _ next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.identity = identity
        if let user = identity.user { context.notes.record(user: user.value) }  // for the access log
        return try await next(request, context)
    }

    /// 401 with the Bearer challenge; its realm is `<public_url>/token`, else `<where the client
    /// reached the mirror>/token` (`context.publicOrigin`). Without either (no Host) there is no
    /// realm to send: 400.
    func challenge(_ context: Context, scope: String?, error: String?, message: String) -> RegistryError {
        guard let base = publicURL ?? context.publicOrigin?.url else {
            return RegistryError(.parameterInvalid, "a Host header is required (or set public_url)")
        }
        var value = "Bearer realm=\(JSONString.quote(base + "/token")),service=\(JSONString.quote(service))"
        if let scope { value += ",scope=\(JSONString.quote(scope))" }
        if let error { value += ",error=\(JSONString.quote(error))" }
        var e = RegistryError(.unauthorized, message)
        e.headers["WWW-Authenticate"] = value
        return e
    }
}
