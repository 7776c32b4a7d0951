import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RegistryCore
import TollgateAuth
import TollgateStorage

/// Docker's token server: `GET /token` (Basic credentials, `scope`, `offline_token`), the OAuth2
/// `POST /token` (password and refresh_token grants), and the public keys at `/token/jwks.json`.
struct TokenController: Sendable {
    let auth: Authenticator
    let refreshTTL: Duration
    /// To see scope names as `<upstream>/<repository>`, as the access policy does.
    let router: UpstreamRouter

    func addRoutes(to router: Router<TollgateContext>) {
        router.get("/token") { request, context in try await self.get(request, context) }
        router.post("/token") { request, context in try await self.post(request, context) }
        router.get("/token/jwks.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: auth.tokens.jwksJSON)))
        }
    }

    struct Failure: Error {
        var status: HTTPResponse.Status
        var error: String
        var description: String
        var retryAfter: Int?
    }

    func get(_ request: Request, _ context: TollgateContext) async throws -> Response {
        do {
            let q = request.uri.queryParameters
            try checkService(q["service"].map(String.init))
            let scopes = Scope.parseAll(q.getAll("scope").map { String($0) })
            let identity: Identity
            switch Credentials(request.headers[.authorization]) {
            case .basic(let user, let password):
                if let account = q["account"], !account.isEmpty, account != user {
                    throw Failure(status: .badRequest, error: "invalid_request", description: "account does not match the credentials")
                }
                identity = try await login(user, password, context)
            case .bearer, .none:
                guard auth.anonymousAllowed else {
                    throw Failure(status: .unauthorized, error: "invalid_client", description: "authentication required")
                }
                identity = .anonymous
            }
            let offline = q["offline_token"] == "true"
            let refresh = offline && !identity.isAnonymous
                ? try await newRefreshToken(identity.user, client: q["client_id"].map(String.init)) : nil
            return try await tokenResponse(identity, scopes: scopes, refreshToken: refresh, oauth: false, host: request.head.authority)
        } catch let f as Failure {
            return failure(f)
        }
    }

    func post(_ request: Request, _ context: TollgateContext) async throws -> Response {
        do {
            let body = try await request.body.collect(upTo: 64 << 10)
            guard let form = TokenForm.parse(String(buffer: body)) else {
                throw Failure(status: .badRequest, error: "invalid_request", description: "malformed form body")
            }
            try checkService(form["service"])
            let scopes = Scope.parseAll(form["scope"].map { [$0] } ?? [])
            let offline = form["access_type"] == "offline"
            switch form["grant_type"] {
            case "password":
                guard let user = form["username"], let password = form["password"] else {
                    throw Failure(status: .badRequest, error: "invalid_request", description: "username and password required")
                }
                let identity = try await login(user, password, context)
                let refresh = offline ? try await newRefreshToken(user, client: form["client_id"]) : nil
                return try await tokenResponse(identity, scopes: scopes, refreshToken: refresh, oauth: true, host: request.head.authority)
            case "refresh_token":
                guard let presented = form["refresh_token"],
                    let record = try await auth.secrets.verify(presented, kind: .refresh),
                    auth.isActive(record.user)
                else {
                    throw Failure(status: .unauthorized, error: "invalid_grant", description: "refresh token is invalid or revoked")
                }
                return try await tokenResponse(
                    Identity(user: record.user), scopes: scopes, refreshToken: presented, oauth: true,
                    host: request.head.authority)
            default:
                throw Failure(status: .badRequest, error: "unsupported_grant_type", description: "grant_type must be password or refresh_token")
            }
        } catch let f as Failure {
            return failure(f)
        }
    }

    private func checkService(_ service: String?) throws {
        if let service, !service.isEmpty, service != auth.tokens.service {
            throw Failure(status: .badRequest, error: "invalid_request", description: "unknown service \(service.prefix(100))")
        }
    }

    private func login(_ user: String, _ password: String, _ context: TollgateContext) async throws -> Identity {
        switch await auth.login(user: user, password: password, client: context.clientAddress) {
        case .ok(let identity): return identity
        case .invalid: throw Failure(status: .unauthorized, error: "invalid_grant", description: "invalid username or password")
        case .locked(let wait):
            throw Failure(status: .tooManyRequests, error: "too_many_attempts", description: "too many failed logins", retryAfter: wait)
        }
    }

    private func newRefreshToken(_ user: String, client: String?) async throws -> String {
        let expires = Date().addingTimeInterval(Double(refreshTTL.components.seconds))
        return try await auth.secrets.create(
            user: user, kind: .refresh, label: "login via \(client ?? "client")", expires: expires
        ).secret
    }

    private func tokenResponse(
        _ identity: Identity, scopes: [Scope], refreshToken: String?, oauth: Bool, host: String?
    ) async throws -> Response {
        let router = self.router
        let access = auth.grant(identity, scopes: scopes) { name in
            (try? router.route(name: name, namespace: nil, host: host)).map { "\($0.upstream)/\($0.repository)" }
        }
        let issued = try await auth.tokens.issue(subject: identity.user, access: access)
        var fields: [String] = [
            "\"token\":\(JSONString.quote(issued.token))", "\"access_token\":\(JSONString.quote(issued.token))",
            "\"expires_in\":\(issued.expiresIn)",
            "\"issued_at\":\(JSONString.quote(ISO8601DateFormatter().string(from: issued.issuedAt)))",
        ]
        if oauth {
            let granted = access.map { "\($0.type):\($0.name):\($0.actions.joined(separator: ","))" }.joined(separator: " ")
            fields.append("\"scope\":\(JSONString.quote(granted))")
        }
        if let refreshToken { fields.append("\"refresh_token\":\(JSONString.quote(refreshToken))") }
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: "{" + fields.joined(separator: ",") + "}")))
    }

    private func failure(_ f: Failure) -> Response {
        var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        if f.status == .unauthorized { headers[.wwwAuthenticate] = "Basic realm=\"tollgate\"" }
        if let wait = f.retryAfter { headers[.retryAfter] = String(wait) }
        let body = "{\"error\":\(JSONString.quote(f.error)),\"error_description\":\(JSONString.quote(f.description))}"
        return Response(status: f.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
