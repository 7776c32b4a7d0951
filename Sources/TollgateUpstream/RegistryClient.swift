import CoreMetrics
import Logging
import NIOHTTP1
import RegistryCore

/// The client for one upstream registry: its operations (manifests, blobs, tags, referrers),
/// each sent with an identity's credentials. Composed of the upstream's transport
/// (`UpstreamTransport`: exchanges, timeouts, retry, redirects kept away from credentials) and its
/// auth (`UpstreamAuthenticator`: challenges, credentials providers, tokens).
///
/// Credentials go only where they belong: Basic credentials and tokens only to the upstream's own
/// origin (scheme, host, port); a token request only to the token realm the upstream itself
/// announced, pinned once learned. Challenges are learned only from the upstream's own origin; a
/// redirect target asking for credentials fails the request.
public final class RegistryClient: Sendable {
    public let configuration: UpstreamConfiguration
    /// The operator's configured credentials (or none).
    public let shared: UpstreamIdentity
    private let transport: UpstreamTransport
    private let authenticator: UpstreamAuthenticator

    /// Creates the client with its own connection pool; call `shutdown()` when done.
    public init(configuration: UpstreamConfiguration, logger: Logger, metrics factory: (any MetricsFactory)? = nil) {
        self.configuration = configuration
        shared = .shared(configuration.credentials)
        var logger = logger
        logger[metadataKey: "upstream"] = .string(configuration.name.value)
        transport = UpstreamTransport(
            configuration: configuration, logger: logger,
            metrics: UpstreamMetrics(upstream: configuration.name.value, factory: factory))
        authenticator = UpstreamAuthenticator(baseURL: configuration.url, transport: transport, logger: logger)
    }

    public var name: UpstreamName { configuration.name }

    /// How the upstream answered this process over the last hour.
    public var health: UpstreamHealth { transport.metrics.health }

    /// `observer` learns, for each pull made with a user's own credentials, whether the upstream
    /// accepted them (its token server, or the upstream itself for Basic).
    public func observeUserLogins(_ observer: @escaping @Sendable (UserName, Bool) -> Void) {
        authenticator.userLogins.withLock { $0 = observer }
    }

    public func shutdown() async throws {
        try await transport.shutdown()
    }

    // MARK: - Registry operations

    public func manifest(
        _ repository: RepositoryName, _ reference: Reference, accept: String, method: HTTPMethod,
        as identity: UpstreamIdentity? = nil
    ) async throws -> UpstreamResponse {
        let who = identity ?? shared
        let response = try await send(
            method, path: "/v2/\(repository)/manifests/\(reference)", scope: Self.pullScope(repository),
            identity: who, headers: [("Accept", accept)])
        if who.owner == nil {  // the mirror's own headroom, not a user's
            transport.metrics.health.noteRateLimit(
                remaining: response.headers.first(name: "ratelimit-remaining"), limit: response.headers.first(name: "ratelimit-limit"))
        }
        return response
    }

    /// GET follows redirects (e.g. Docker Hub's CDN) itself. With a `sink`, a 200 body goes there
    /// as it arrives (the response's `body` is then `.delivered`).
    public func blob(
        _ repository: RepositoryName, _ digest: Digest, method: HTTPMethod, as identity: UpstreamIdentity? = nil,
        into sink: (any ResponseBodySink)? = nil
    ) async throws -> UpstreamResponse {
        try await send(
            method, path: "/v2/\(repository)/blobs/\(digest)", scope: Self.pullScope(repository),
            identity: identity ?? shared, sink: sink)
    }

    public func tags(_ repository: RepositoryName, query: String?, as identity: UpstreamIdentity? = nil)
        async throws -> UpstreamResponse
    {
        let q = query.map { "?" + $0 } ?? ""
        return try await send(
            .GET, path: "/v2/\(repository)/tags/list\(q)", scope: Self.pullScope(repository), identity: identity ?? shared)
    }

    /// OCI 1.1 referrers of `subject` (an image index); `query` is `ReferrersQuery.encoded`.
    public func referrers(
        _ repository: RepositoryName, subject: Digest, query: String, as identity: UpstreamIdentity? = nil
    ) async throws -> UpstreamResponse {
        let q = query.isEmpty ? "" : "?" + query
        return try await send(
            .GET, path: "/v2/\(repository)/referrers/\(subject)\(q)", scope: Self.pullScope(repository),
            identity: identity ?? shared, headers: [("Accept", MediaType.ociIndex)])
    }

    static func pullScope(_ repository: RepositoryName) -> String { "repository:\(repository):pull" }

    /// A transport failure (thrown by AsyncHTTPClient, or already an `UpstreamError`) as an `UpstreamError`.
    public static func classify(_ error: any Error, upstream: String) -> UpstreamError {
        UpstreamTransport.classify(error, upstream: upstream)
    }

    // MARK: - Request flow

    /// Sends with the credentials the authenticator chose, along redirects; the origin's first 401
    /// is answered once (a token or Basic credentials) and the request sent again from where it got it.
    func send(
        _ method: HTTPMethod, path: String, scope: String, identity: UpstreamIdentity,
        headers: [(String, String)] = [], sink: (any ResponseBodySink)? = nil
    ) async throws -> UpstreamResponse {
        var request = UpstreamRequest(method, base: configuration.url, path: path, headers: headers, sink: sink)
        let authorization = try await authenticator.authorization(scope: scope, identity)
        request.authorize(authorization)
        let response = try await transport.follow(&request)
        guard response.status == 401 else {
            if authorization?.hasPrefix("Basic ") == true { authenticator.noteUserLogin(identity, accepted: true) }
            return response
        }
        let challenge = response.headers[canonicalForm: "www-authenticate"].joined(separator: ", ")
        await response.discard()
        guard let answer = try await authenticator.answer(challenge: challenge, scope: scope, identity) else {
            return try await transport.exchange(
                method, url: request.url, headers: headers, authorization: nil, sink: sink)
        }
        request.authorize(answer)
        let answered = try await transport.follow(&request)
        if answer.hasPrefix("Basic ") {  // a user's Basic credentials (an upstream without tokens)
            authenticator.noteUserLogin(identity, accepted: answered.status != 401)
        }
        return answered
    }
}
