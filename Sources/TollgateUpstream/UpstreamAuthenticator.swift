import Logging
import NIOHTTP1
import RegistryCore
import Synchronization

/// Upstream auth for one upstream: how it asks for credentials (`LearnedChallenge`), the
/// credentials each identity's provider gives, Bearer tokens from the pinned realm only, cached
/// per identity and scope (`TokenCache`). Knows nothing of redirects: the `Authorization` it
/// returns goes through `UpstreamTransport.follow`, which keeps it at the upstream's origin.
final class UpstreamAuthenticator: Sendable {
    private let transport: UpstreamTransport
    private let challenge: LearnedChallenge
    private let tokens = TokenCache()
    /// The upstream's `/v2/`, asked once how it authenticates.
    private let pingURL: String
    /// Where Basic credentials go: the upstream's own origin.
    private let origin: UpstreamCredentialsRequest.Recipient
    /// Told whether the upstream accepted a user's own credentials (their token server answered a
    /// token, or a request with them was not refused).
    let userLogins = Mutex<(@Sendable (UserName, Bool) -> Void)?>(nil)

    func noteUserLogin(_ identity: UpstreamIdentity, accepted: Bool) {
        guard let owner = identity.owner, let observe = userLogins.withLock({ $0 }) else { return }
        observe(owner, accepted)
    }

    init(baseURL: String, transport: UpstreamTransport, logger: Logger) {
        self.transport = transport
        challenge = LearnedChallenge(logger: logger)
        pingURL = baseURL + "/v2/"
        origin = .origin(transport.origin?.description ?? baseURL)
    }

    /// The `Authorization` to send first: a cached token or Basic credentials; or, when the
    /// upstream is known to use Bearer tokens, a fresh token for `scope`. The first request to an
    /// upstream pings `/v2/` to learn that.
    func authorization(scope: String, _ identity: UpstreamIdentity) async throws -> String? {
        if let token = tokens.token(for: Self.tokenKey(scope, identity)) { return "Bearer \(token)" }
        let basicKnown = challenge.usesBasic
        if basicKnown, let c = try await credentials(identity, scope: scope, to: origin) { return c.basicAuthorization }
        if challenge.claimPing() { await ping() }
        guard let realm = challenge.tokenRealm else {
            // Basic learned meanwhile (by the ping, or another request's 401): ask for it now.
            guard challenge.usesBasic, !basicKnown else { return nil }
            return try await credentials(identity, scope: scope, to: origin)?.basicAuthorization
        }
        return try await bearer(from: realm, scope: scope, cachedAs: scope, identity)
    }

    /// Answers a 401 of the upstream's own origin (`UpstreamTransport.follow` throws on anyone
    /// else's): a Bearer token from the pinned realm, or Basic credentials; nil: no answer.
    func answer(challenge header: String, scope: String, _ identity: UpstreamIdentity) async throws -> String? {
        let challenges = AuthChallenge.parse(header)
        challenge.learn(challenges)
        if let bearer = challenges.first(where: \.isBearer), let realm = challenge.tokenRealm {
            return try await self.bearer(from: realm, scope: bearer.scope ?? scope, cachedAs: scope, identity)
        }
        if challenges.contains(where: \.isBasic), let c = try await credentials(identity, scope: scope, to: origin) {
            challenge.noteBasic()
            return c.basicAuthorization
        }
        return nil
    }

    /// Asks the upstream's `/v2/`, without credentials, how it authenticates.
    private func ping() async {
        guard let response = try? await transport.exchange(.GET, url: pingURL, headers: [], authorization: nil) else {
            challenge.pingFailed()
            return
        }
        let header = response.headers[canonicalForm: "www-authenticate"].joined(separator: ", ")
        await response.discard()
        if response.status == 401 { challenge.learn(AuthChallenge.parse(header)) }
    }

    /// Tokens are cached per identity and scope: one identity's token never serves another.
    static func tokenKey(_ scope: String, _ identity: UpstreamIdentity) -> String { identity.key + "\u{0}" + scope }

    private func bearer(from realm: TokenRealm, scope: String, cachedAs requestScope: String, _ identity: UpstreamIdentity)
        async throws -> String
    {
        let credentials = try await credentials(identity, scope: scope, to: .tokenRealm(realm.realm))
        let token: (value: String, lifetime: Duration)
        do {
            token = try await realm.token(scope: scope, credentials: credentials, of: identity, via: transport)
        } catch let error as UpstreamError where error.kind == .credentialsRejected {
            if credentials != nil { noteUserLogin(identity, accepted: false) }
            throw error
        }
        if credentials != nil { noteUserLogin(identity, accepted: true) }
        tokens.store(token.value, for: Self.tokenKey(requestScope, identity), lifetime: token.lifetime)
        return "Bearer \(token.value)"
    }

    /// What `identity`'s provider gives for `scope`, to be sent to `recipient` and nowhere else.
    private func credentials(
        _ identity: UpstreamIdentity, scope: String, to recipient: UpstreamCredentialsRequest.Recipient
    ) async throws -> UpstreamCredentials? {
        guard let provider = identity.credentials else { return nil }
        return try await provider.credentials(
            for: UpstreamCredentialsRequest(upstream: transport.upstream, scope: scope, recipient: recipient))
    }
}
