import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RegistryCore
import TollgateAuth
import TollgateLimits

/// Docker's token server: `GET /token` (Basic credentials, `scope`, `offline_token`), the OAuth2
/// `POST /token` (password and refresh_token grants), and the public keys at `/token/jwks.json`.
///
/// A token request is a request like any other: once the caller is known it counts against
/// their `requests_per_minute` (anonymous requests and failed logins against the address's).
/// Refresh tokens record what they were obtained with; one obtained with a personal token
/// ends with it and never outlives it. A user keeps at most `maxRefreshTokens` of them.
struct TokenController: Sendable {
    let auth: Authenticator
    let refreshTTL: Duration
    /// To see scope names as `<upstream>/<repository>`, as the access policy does.
    let router: UpstreamRouter
    /// Request rates (nil when limits are off), and where refusals are counted.
    var limiter: (any Limiter)? = nil
    var ledger: UsageLedger? = nil

    /// Live refresh tokens per user; a new one ends the oldest beyond this.
    static let maxRefreshTokens = 50
    /// `client_id`: at most this many printable ASCII characters.
    static let maxClientID = 64
    /// POST bodies larger than this are refused with 413.
    static let maxBody = 64 << 10

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

        /// What needs the database while it is unreachable (cluster mode).
        static let degraded = Failure(
            status: .serviceUnavailable, error: "temporarily_unavailable", description: RegistryError.degraded.message,
            retryAfter: 5)
    }

    func get(_ request: Request, _ context: TollgateContext) async throws -> Response {
        do {
            let q = request.uri.queryParameters
            try checkService(q["service"].map(String.init))
            let scopes = Scope.parseAll(q.getAll("scope").map { String($0) })
            let offline = q["offline_token"] == "true"
            let client = try Self.clientID(q["client_id"].map(String.init))
            let identity: Identity
            var origin = LoginOrigin.password
            switch Credentials(request.headers[.authorization]) {
            case .basic(let user, let password):
                if let account = q["account"], !account.isEmpty, account != user {
                    throw Failure(status: .badRequest, error: "invalid_request", description: "account does not match the credentials")
                }
                let accepted = try await login(user, password, context)
                identity = accepted.identity
                origin = accepted.origin
            case .bearer, .none:
                guard auth.anonymousAllowed else {
                    throw Failure(status: .unauthorized, error: "invalid_client", description: "authentication required")
                }
                try await admit(.anonymous, context)
                identity = .anonymous
            }
            var refresh: String?
            if offline, let user = identity.user { refresh = try await newRefreshToken(user, origin: origin, client: client) }
            return try await tokenResponse(identity, scopes: scopes, refreshToken: refresh, oauth: false, host: request.head.authority)
        } catch let f as Failure {
            return failure(f)
        } catch is any StoreUnreachable {
            return failure(.degraded)
        }
    }

    func post(_ request: Request, _ context: TollgateContext) async throws -> Response {
        do {
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: Self.maxBody)
            } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
                throw Failure(
                    status: .contentTooLarge, error: "invalid_request",
                    description: "request body larger than \(Self.maxBody >> 10) KiB")
            }
            guard let form = TokenForm.parse(String(buffer: body)) else {
                throw Failure(status: .badRequest, error: "invalid_request", description: "malformed form body")
            }
            try checkService(form["service"])
            let scopes = Scope.parseAll(form["scope"].map { [$0] } ?? [])
            let offline = form["access_type"] == "offline"
            let client = try Self.clientID(form["client_id"])
            switch form["grant_type"] {
            case "password":
                guard let user = form["username"], let password = form["password"] else {
                    throw Failure(status: .badRequest, error: "invalid_request", description: "username and password required")
                }
                let (identity, origin) = try await login(user, password, context)
                var refresh: String?
                if offline, let user = identity.user { refresh = try await newRefreshToken(user, origin: origin, client: client) }
                return try await tokenResponse(identity, scopes: scopes, refreshToken: refresh, oauth: true, host: request.head.authority)
            case "refresh_token":
                guard let presented = form["refresh_token"],
                    let record = try await auth.secrets.verify(presented, kind: .refresh),
                    let user = UserName(record.user), await auth.isActive(record.user)
                else {
                    try await admit(.anonymous, context)
                    throw Failure(status: .unauthorized, error: "invalid_grant", description: "refresh token is invalid or revoked")
                }
                try await admit(.user(user), context)
                try await auth.secrets.recordUse(record)
                return try await tokenResponse(
                    .user(user), scopes: scopes, refreshToken: presented, oauth: true,
                    host: request.head.authority)
            default:
                throw Failure(status: .badRequest, error: "unsupported_grant_type", description: "grant_type must be password or refresh_token")
            }
        } catch let f as Failure {
            return failure(f)
        } catch is any StoreUnreachable {
            return failure(.degraded)
        }
    }

    private func checkService(_ service: String?) throws {
        if let service, !service.isEmpty, service != auth.tokens.service {
            throw Failure(status: .badRequest, error: "invalid_request", description: "unknown service \(service.prefix(100))")
        }
    }

    /// A valid `client_id` (nil when absent or empty).
    static func clientID(_ raw: String?) throws -> String? {
        guard let raw, !raw.isEmpty else { return nil }
        guard raw.utf8.count <= maxClientID, raw.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) else {
            throw Failure(
                status: .badRequest, error: "invalid_request",
                description: "client_id must be at most \(maxClientID) printable ASCII characters")
        }
        return raw
    }

    /// Counts the request against `subject`'s request rate; 429 when it is used up.
    private func admit(_ identity: Identity, _ context: TollgateContext) async throws {
        let subject = identity.principal(address: context.clientAddress)
        guard let limiter, case .failure(let no) = await limiter.admit(subject, pull: false, request: true) else { return }
        ledger?.recordRefusal(user: identity.user, kind: no.kind)
        throw Failure(
            status: .tooManyRequests, error: "too_many_requests", description: no.message,
            retryAfter: Int(clamping: no.retryAfter))
    }

    /// A login that counts against the user's request rate once it succeeded, and against the
    /// address's when it failed.
    private func login(_ user: String, _ password: String, _ context: TollgateContext) async throws
        -> (identity: Identity, origin: LoginOrigin)
    {
        switch await auth.login(user: user, password: password, client: context.clientAddress) {
        case .ok(let identity, let origin):
            try await admit(identity, context)
            return (identity, origin)
        case .invalid:
            try await admit(.anonymous, context)
            throw Failure(status: .unauthorized, error: "invalid_grant", description: "invalid username or password")
        case .locked(let wait):
            throw Failure(status: .tooManyRequests, error: "too_many_attempts", description: "too many failed logins", retryAfter: wait)
        case .unavailable:
            throw Failure.degraded
        case .expired(let day):
            throw Failure(status: .unauthorized, error: "invalid_grant", description: "account expired on \(day)")
        }
    }

    /// A refresh token for `user`: it lives `refresh_ttl`, but never longer than the personal
    /// token it was obtained with (and ends when that token is revoked).
    private func newRefreshToken(_ user: UserName, origin: LoginOrigin, client: String?) async throws -> String {
        var expires = Date().addingTimeInterval(Double(refreshTTL.components.seconds))
        var parent: String?
        if case .personalToken(let id, let until) = origin {
            parent = id
            if let until { expires = min(expires, until) }
        }
        return try await auth.secrets.create(
            user: user.value, kind: .refresh, label: "login", expires: expires, origin: parent, client: client,
            keepNewest: Self.maxRefreshTokens
        ).secret
    }

    private func tokenResponse(
        _ identity: Identity, scopes: [Scope], refreshToken: String?, oauth: Bool, host: String?
    ) async throws -> Response {
        let router = self.router
        let access = auth.grant(identity, scopes: scopes) { name in
            (try? router.route(name: name, namespace: nil, host: host)).map { "\($0.upstream)/\($0.repository)" }
        }
        let issued = try await auth.tokens.issue(subject: identity.tokenSubject, access: access)
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
