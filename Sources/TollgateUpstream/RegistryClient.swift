import AsyncHTTPClient
import CoreMetrics
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import RegistryCore
import Synchronization

/// A response from an upstream registry whose body is still to be read (or discarded).
public struct UpstreamResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: Body

    public enum Body: Sendable {
        case stream(HTTPClientResponse.Body)
        /// A 200 body is being delivered to the `ResponseBodySink` the request named; other
        /// statuses' bodies were dropped.
        case delivered
    }

    public var contentLength: Int64? { headers.first(name: "content-length").flatMap { Int64($0) } }
    public var digestHeader: Digest? {
        headers.first(name: "docker-content-digest").flatMap { try? Digest(parsing: $0) }
    }
    public var contentType: String? { headers.first(name: "content-type").map { MediaType.essence($0) } }

    /// Reads the whole body, refusing more than `limit` bytes.
    public func collect(upTo limit: Int) async throws -> ByteBuffer {
        guard case .stream(let body) = body else { return ByteBuffer() }
        return try await body.collect(upTo: limit)
    }

    /// Reads and drops the body so the connection can be reused.
    public func discard() async {
        guard case .stream(let body) = body else { return }
        do {
            for try await _ in body {}
        } catch {}
    }
}

/// The client for one upstream registry: auth challenges (anonymous or configured Bearer token
/// dance, Basic), token caching per scope, blob redirects to other hosts (never carrying
/// `Authorization` there), timeouts and one retry of connection failures.
///
/// Credentials go only where they belong: Basic credentials and tokens only to the upstream's own
/// origin (scheme, host, port); a token request (Basic credentials) only to the token realm the
/// upstream itself announced, pinned once learned. Challenges are learned only from the upstream's
/// own origin; a redirect target asking for credentials fails the request.
public final class RegistryClient: Sendable {
    public let configuration: UpstreamConfiguration
    private let http: HTTPClient
    private let logger: Logger
    private let tokens = TokenCache()
    /// Set once the upstream has answered with a Basic challenge.
    private let usesBasic = Atomic<Bool>(false)
    /// The upstream's Bearer challenge (realm, service), learned once from the upstream's own
    /// origin and pinned: with it a token for a new scope is fetched before the request instead of
    /// after a 401 round trip, and no later response can send credentials to another realm.
    private let bearer = Mutex<(realm: String, service: String?)?>(nil)
    /// Set once a realm other than the pinned one was announced (warned about once).
    private let realmConflictLogged = Atomic<Bool>(false)
    /// Where the upstream's credentials may be sent (nil only for a URL that isn't http(s)).
    let origin: Origin?
    /// Whether `/v2/` has been asked how this upstream authenticates.
    private let pinged = Atomic<Bool>(false)
    /// Time to the response head, and failures by kind (nil: no metrics).
    private let latency: CoreMetrics.Timer?
    private let errors: [String: Counter]

    /// Creates the client with its own connection pool; call `shutdown()` when done.
    public init(configuration: UpstreamConfiguration, logger: Logger, metrics factory: (any MetricsFactory)? = nil) {
        self.configuration = configuration
        self.origin = Origin(configuration.url)
        let u = [("upstream", configuration.name)]
        latency = factory.map {
            CoreMetrics.Timer(label: "tollgate_upstream_response_seconds", dimensions: u, preferredDisplayUnit: .seconds, factory: $0)
        }
        var errors: [String: Counter] = [:]
        if let factory {
            for kind in ["unreachable", "timeout", "protocol", "credentials", "status_429", "status_5xx"] {
                errors[kind] = Counter(label: "tollgate_upstream_errors_total", dimensions: u + [("kind", kind)], factory: factory)
            }
        }
        self.errors = errors
        var http = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(
                connect: .milliseconds(Int64(configuration.connectTimeout * 1000)),
                read: .milliseconds(Int64(configuration.idleTimeout * 1000))),
            decompression: .disabled)
        http.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
        // Fail fast when the upstream is down (we retry once ourselves): stale-if-error must not
        // wait out the whole connect timeout.
        http.connectionPool.retryConnectionEstablishment = false
        self.http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: http)
        var logger = logger
        logger[metadataKey: "upstream"] = .string(configuration.name)
        self.logger = logger
    }

    public var name: String { configuration.name }

    /// The operator's configured credentials (or none).
    public var shared: UpstreamIdentity { .shared(configuration.credentials) }

    public func shutdown() async throws {
        try await http.shutdown()
    }

    // MARK: - Registry operations

    public func manifest(
        _ repository: RepositoryName, _ reference: Reference, accept: String, method: HTTPMethod,
        as identity: UpstreamIdentity? = nil
    ) async throws -> UpstreamResponse {
        try await send(
            method, path: "/v2/\(repository)/manifests/\(reference)", scope: Self.pullScope(repository),
            identity: identity ?? shared, headers: [("Accept", accept)])
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

    // MARK: - Request flow

    func send(
        _ method: HTTPMethod, path: String, scope: String, identity: UpstreamIdentity,
        headers extra: [(String, String)] = [], sink: (any ResponseBodySink)? = nil
    ) async throws -> UpstreamResponse {
        var url = configuration.url + path
        var authorization = try await authorizationBeforeSending(scope: scope, identity)
        var challenged = false
        var redirects = 0
        // Still on the upstream's own origin: once a redirect leaves it, nothing the chain meets
        // is the upstream's (credentials are dropped, challenges are neither answered nor learned).
        var atOrigin = true
        while true {
            let response = try await execute(
                method, url: url, headers: extra, authorization: authorization, sink: sink)
            switch response.status {
            case 401 where !atOrigin:
                // A redirect target (a CDN) asking for credentials: the upstream's are not its to have.
                await response.discard()
                errors["protocol"]?.increment()
                throw UpstreamError(
                    .protocolError, upstream: name,
                    "redirect target \(Origin(url)?.description ?? "?") asked for credentials; they are never sent there")
            case 401 where !challenged:
                challenged = true
                let header = response.headers[canonicalForm: "www-authenticate"].joined(separator: ", ")
                await response.discard()
                guard let auth = try await authorize(challengeHeader: header, scope: scope, identity) else {
                    return try await execute(method, url: url, headers: extra, authorization: nil, sink: sink)
                }
                authorization = auth
            case 301, 302, 303, 307, 308:
                guard redirects < 5, let location = response.headers.first(name: "location"),
                    let next = URL(string: location, relativeTo: URL(string: url))?.absoluteURL,
                    let scheme = next.scheme, scheme == "https" || scheme == "http"
                else {
                    await response.discard()
                    throw UpstreamError(.protocolError, upstream: name, "bad redirect from \(path)")
                }
                await response.discard()
                redirects += 1
                // Credentials stay with the registry's origin; a CDN gets a signed URL and nothing else.
                if Origin(next) != origin { atOrigin = false }
                if !atOrigin { authorization = nil }
                url = next.absoluteString
            default:
                return response
            }
        }
    }

    /// A cached token or Basic credentials; or, when the upstream is known to use Bearer tokens, a
    /// fresh token for this scope. The first request to an upstream pings `/v2/` to learn that.
    private func authorizationBeforeSending(scope: String, _ identity: UpstreamIdentity) async throws -> String? {
        if let auth = currentAuthorization(scope: scope, identity) { return auth }
        if !pinged.exchange(true, ordering: .relaxed) {
            if let response = try? await execute(.GET, url: configuration.url + "/v2/", headers: [], authorization: nil) {
                let header = response.headers[canonicalForm: "www-authenticate"].joined(separator: ", ")
                await response.discard()
                if response.status == 401 { learn(AuthChallenge.parse(header)) }
            } else {
                pinged.store(false, ordering: .relaxed)  // unreachable now: ask again next time
            }
        }
        guard let known = bearer.withLock({ $0 }) else {
            return usesBasic.load(ordering: .relaxed) ? identity.credentials.map(Self.basic) : nil
        }
        let token = try await fetchToken(realm: known.realm, service: known.service, scope: scope, identity)
        tokens.store(token.value, for: Self.tokenKey(scope, identity), lifetime: token.lifetime)
        return "Bearer \(token.value)"
    }

    /// Tokens are cached per identity and scope: one identity's token never serves another.
    static func tokenKey(_ scope: String, _ identity: UpstreamIdentity) -> String { identity.key + "\u{0}" + scope }

    /// Learns how the upstream authenticates, from a 401 of its own origin (never a redirect
    /// target's). The first Bearer realm is pinned: a later, different one is not followed (the
    /// upstream may announce a realm on another host, as Docker Hub does, but not switch it
    /// silently); a restart learns it anew.
    private func learn(_ challenges: [AuthChallenge]) {
        if let b = challenges.first(where: \.isBearer), let realm = b.realm {
            let pinned = bearer.withLock { known -> String in
                if let current = known { return current.realm }
                known = (realm, b.service)
                return realm
            }
            if pinned != realm, !realmConflictLogged.exchange(true, ordering: .relaxed) {
                logger.warning(
                    "upstream announced another token realm; keeping the one learned first (restart to switch)",
                    metadata: ["pinned": "\(pinned)", "announced": "\(realm)"])
            }
        } else if challenges.contains(where: \.isBasic) {
            usesBasic.store(true, ordering: .relaxed)
        }
    }

    private func currentAuthorization(scope: String, _ identity: UpstreamIdentity) -> String? {
        if let token = tokens.token(for: Self.tokenKey(scope, identity)) { return "Bearer \(token)" }
        if usesBasic.load(ordering: .relaxed), let c = identity.credentials { return Self.basic(c) }
        return nil
    }

    static func basic(_ c: UpstreamConfiguration.Credentials) -> String {
        "Basic " + Data("\(c.username):\(c.password)".utf8).base64EncodedString()
    }

    /// Answers a 401's challenge from the upstream's own origin: a Bearer token from the pinned
    /// realm, or Basic credentials.
    private func authorize(challengeHeader: String, scope: String, _ identity: UpstreamIdentity) async throws -> String? {
        let challenges = AuthChallenge.parse(challengeHeader)
        learn(challenges)
        if let challenge = challenges.first(where: \.isBearer), let pinned = bearer.withLock({ $0 }) {
            let token = try await fetchToken(
                realm: pinned.realm, service: pinned.service, scope: challenge.scope ?? scope, identity)
            tokens.store(token.value, for: Self.tokenKey(scope, identity), lifetime: token.lifetime)
            return "Bearer \(token.value)"
        }
        if challenges.contains(where: \.isBasic), let c = identity.credentials {
            usesBasic.store(true, ordering: .relaxed)
            return Self.basic(c)
        }
        return nil
    }

    private func fetchToken(realm: String, service: String?, scope: String, _ identity: UpstreamIdentity)
        async throws -> (value: String, lifetime: Duration)
    {
        guard var components = URLComponents(string: realm), let scheme = components.scheme,
            scheme == "https" || scheme == "http"
        else { throw UpstreamError(.protocolError, upstream: name, "token realm is not an http(s) URL") }
        var items = components.queryItems ?? []
        if let service { items.append(URLQueryItem(name: "service", value: service)) }
        for s in scope.split(separator: " ") { items.append(URLQueryItem(name: "scope", value: String(s))) }
        if let c = identity.credentials { items.append(URLQueryItem(name: "account", value: c.username)) }
        components.queryItems = items
        guard let url = components.url?.absoluteString else {
            throw UpstreamError(.protocolError, upstream: name, "bad token realm")
        }
        let response = try await execute(
            .GET, url: url, headers: [], authorization: identity.credentials.map(Self.basic))
        guard response.status == 200 else {
            await response.discard()
            if (300..<400).contains(response.status) {
                // Not followed: the credentials were meant for this realm only, and a realm that
                // moved must be announced by the upstream (see `learn`).
                throw UpstreamError(
                    .protocolError, upstream: name, "token server answered a redirect (\(response.status)); not followed")
            }
            if response.status == 401 || response.status == 403 {
                throw UpstreamError(
                    .credentialsRejected, upstream: name, "its token server refused \(identity)")
            }
            throw UpstreamError(.protocolError, upstream: name, "token server answered \(response.status)")
        }
        let body = try await response.collect(upTo: 1 << 20)
        guard let token = TokenResponse.parse(Data(body.readableBytesView)) else {
            throw UpstreamError(.protocolError, upstream: name, "token server sent no usable token")
        }
        return token
    }

    /// One HTTP exchange, retried once when the connection could not be made or broke before
    /// a response head (every request we send is idempotent).
    private func execute(
        _ method: HTTPMethod, url: String, headers: [(String, String)], authorization: String?,
        sink: (any ResponseBodySink)? = nil
    ) async throws -> UpstreamResponse {
        var fields = HTTPHeaders()
        fields.add(name: "User-Agent", value: "tollgate/0.1")
        for (k, v) in headers { fields.add(name: k, value: v) }
        if let authorization { fields.add(name: "Authorization", value: authorization) }
        var attempt = 0
        while true {
            attempt += 1
            do {
                let started = ContinuousClock.now
                let result: UpstreamResponse
                if let sink {
                    result = try await executeIntoSink(method, url: url, headers: fields, sink: sink)
                } else {
                    var request = HTTPClientRequest(url: url)
                    request.method = method
                    request.headers = fields
                    let response = try await http.execute(
                        request, timeout: .milliseconds(Int64(configuration.firstByteTimeout * 1000)), logger: logger)
                    result = UpstreamResponse(
                        status: Int(response.status.code), headers: response.headers, body: .stream(response.body))
                }
                latency?.recordNanoseconds(Int64((ContinuousClock.now - started).seconds * 1e9))
                if result.status == 429 { errors["status_429"]?.increment() }
                if result.status >= 500 { errors["status_5xx"]?.increment() }
                return result
            } catch {
                let mapped = Self.classify(error, upstream: name)
                switch mapped.kind {
                case .unreachable: errors["unreachable"]?.increment()
                case .timeout: errors["timeout"]?.increment()
                case .protocolError: errors["protocol"]?.increment()
                case .credentialsRejected: errors["credentials"]?.increment()
                }
                if attempt == 1, mapped.kind == .unreachable {
                    logger.debug("retrying after connection failure", metadata: ["error": "\(error)"])
                    continue
                }
                throw mapped
            }
        }
    }

    /// One exchange through the delegate API: the head is awaited (within the first-byte
    /// timeout), a 200 body flows into `sink` on the event loop.
    private func executeIntoSink(_ method: HTTPMethod, url: String, headers: HTTPHeaders, sink: any ResponseBodySink)
        async throws -> UpstreamResponse
    {
        let request = try HTTPClient.Request(url: url, method: method, headers: headers)
        let eventLoop = http.eventLoopGroup.next()
        let headPromise = eventLoop.makePromise(of: HTTPResponseHead.self)
        let task = http.execute(
            request: request, delegate: SinkDelegate(sink: sink, head: headPromise), eventLoop: .delegate(on: eventLoop),
            logger: logger)
        let timedOut = Atomic<Bool>(false)
        let firstByte = eventLoop.scheduleTask(in: .milliseconds(Int64(configuration.firstByteTimeout * 1000))) {
            timedOut.store(true, ordering: .relaxed)
            task.cancel()
        }
        do {
            let head = try await headPromise.futureResult.get()
            firstByte.cancel()
            return UpstreamResponse(status: Int(head.status.code), headers: head.headers, body: .delivered)
        } catch {
            firstByte.cancel()
            if timedOut.load(ordering: .relaxed) { throw HTTPClientError.deadlineExceeded }
            throw error
        }
    }

    public static func classify(_ error: any Error, upstream: String) -> UpstreamError {
        if let e = error as? UpstreamError { return e }
        if let e = error as? HTTPClientError {
            switch e {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout:
                return UpstreamError(.timeout, upstream: upstream, "timed out (\(e))")
            default:
                return UpstreamError(.unreachable, upstream: upstream, "\(e)")
            }
        }
        return UpstreamError(.unreachable, upstream: upstream, "\(error)")
    }
}
