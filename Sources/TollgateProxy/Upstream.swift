import NIOCore
import RegistryCore
import TollgateUpstream

/// An upstream as the cache sees it for one request: its client, how long a tag stays fresh, and
/// whose credentials the request goes upstream with.
public struct Upstream: Sendable {
    public let client: RegistryClient
    /// Within this time a cached tag is served without asking upstream.
    public let manifestTTL: Duration
    /// The credentials sent upstream (the operator's shared ones unless a user brought their own).
    public let identity: UpstreamIdentity

    public init(client: RegistryClient, manifestTTL: Duration, identity: UpstreamIdentity? = nil) {
        self.client = client
        self.manifestTTL = manifestTTL
        self.identity = identity ?? client.shared
    }

    /// The upstream's name as records and messages carry it.
    public var name: String { client.name.value }

    /// The same upstream, going there with a user's own credentials.
    public func acting(as identity: UpstreamIdentity) -> Upstream {
        Upstream(client: client, manifestTTL: manifestTTL, identity: identity)
    }

    /// Who content fetched by this request is visible to: `shared` (anyone whose policy allows
    /// the repository) or `user:<name>` (fetched with that user's own credentials).
    public var audience: Audience { identity.owner.map(Audience.user) ?? .shared }

    /// The audiences whose cached content this request may be served: shared content, and the
    /// user's own.
    var visible: [Audience] { identity.isShared ? [.shared] : [.shared, audience] }
}

/// How a response was produced, for the access log and the `X-Cache` header.
public enum CacheOutcome: String, Sendable {
    /// Served from the cache without asking upstream.
    case hit
    /// Fetched from upstream (possibly joining a fetch already running).
    case miss
    /// Upstream confirmed the cached tag (one HEAD), served from the cache.
    case revalidated
    /// Upstream failed; served the last known content.
    case stale
    /// Passed through from upstream without caching (tag lists, HEAD of an uncached blob).
    case pass
}

extension UpstreamResponse {
    /// The whole body of a document (manifest, tag list, referrers), at most `limit` bytes with or
    /// without a length: `tooLarge` past it (a body with a larger length is dropped unread: its
    /// connection is closed, not drained), 502 when reading fails.
    func document(upTo limit: Int, upstream: String, tooLarge: RegistryError) async throws -> ByteBuffer {
        if let length = contentLength, length > limit { throw tooLarge }
        do {
            return try await collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        } catch {
            throw RegistryError(.badGateway, "reading from upstream \(upstream) failed", detail: "\(error)")
        }
    }
}

/// Maps an upstream failure to the registry error a client sees.
enum UpstreamFailure {
    static func error(status: Int, headers retryAfter: String?, upstream: String, notFound: RegistryError)
        -> RegistryError
    {
        switch status {
        case 404:
            return notFound
        case 401, 403:
            return RegistryError(.denied, "upstream \(upstream) denied access", detail: notFound.detail)
        case 429:
            return RegistryError(
                .tooManyRequests, "upstream \(upstream) is rate limiting this mirror",
                retryAfter: retryAfter.flatMap { Int($0) } ?? 60)
        case 500...599:
            return RegistryError(.badGateway, "upstream \(upstream) answered \(status)")
        default:
            return RegistryError(.badGateway, "upstream \(upstream) answered unexpected status \(status)")
        }
    }

    static func error(_ response: UpstreamResponse, upstream: String, notFound: RegistryError) -> RegistryError {
        error(status: response.status, headers: response.headers.first(name: "retry-after"), upstream: upstream, notFound: notFound)
    }

    /// Sends an upstream request; a transport failure becomes the registry error clients see.
    static func send(_ request: () async throws -> UpstreamResponse) async throws -> UpstreamResponse {
        do {
            return try await request()
        } catch let e as UpstreamError {
            throw error(e)
        }
    }

    /// Sends an upstream request that must answer 200; anything else is discarded and thrown
    /// as the matching registry error.
    static func sendExpectingOK(
        upstream: String, notFound: RegistryError, _ request: () async throws -> UpstreamResponse
    ) async throws -> UpstreamResponse {
        let response = try await send(request)
        guard response.status == 200 else {
            await response.discard()
            throw error(response, upstream: upstream, notFound: notFound)
        }
        return response
    }

    static func error(_ e: UpstreamError) -> RegistryError {
        switch e.kind {
        case .unreachable: RegistryError(.unavailable, "upstream \(e.upstream) is unreachable", detail: e.message)
        case .timeout: RegistryError(.gatewayTimeout, "upstream \(e.upstream) timed out", detail: e.message)
        case .protocolError: RegistryError(.badGateway, "upstream \(e.upstream) failed", detail: e.message)
        case .credentialsRejected:
            RegistryError(.denied, "upstream \(e.upstream) refused the credentials: \(e.message)")
        }
    }

    /// Failures after which the last known content is served instead (stale-if-error).
    static func allowsStale(status: Int) -> Bool { status == 429 || (500...599).contains(status) }
}
