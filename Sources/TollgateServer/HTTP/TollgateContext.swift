import Hummingbird
import NIOCore
import RegistryCore
import Synchronization
import TollgateAuth
import TollgateWeb

/// Per-request state.
public struct TollgateContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// What the handler learned, for the access log.
    public let notes = RequestNotes()
    public let remoteAddress: SocketAddress?
    /// The event loop of the client's connection (a relayed body is moved on it).
    public let eventLoop: any EventLoop
    /// Set by `AuthMiddleware` on `/v2` requests.
    public var identity: Identity?
    /// The `/v2` endpoint, parsed once by `AuthMiddleware`.
    public var endpoint: RegistryPath?
    /// Set by `LimitMiddleware` on manifest HEADs: charges a pull when answering takes an
    /// upstream GET.
    var pullCharge: PullCharge?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.eventLoop = source.channel.eventLoop
    }

    /// Where the client reached the mirror (its Host, or a trusted proxy's forwarded host), set by
    /// `PublicOriginMiddleware`; nil without a Host.
    var publicOrigin: PublicOrigin?

    /// Set by `ClientAddressMiddleware` when a trusted proxy said who the client is.
    public var forwardedClient: String?

    /// The client's address without port, for throttling, limits and logs: the peer, or, behind a
    /// trusted reverse proxy, the client it forwarded for.
    public var clientAddress: String? { forwardedClient ?? remoteAddress?.ipAddress }
}

extension TollgateContext: ConsoleRequestContext {
    public var consoleOrigin: String? { publicOrigin?.url }
}

/// Facts a handler records for the access-log line written after it (upstream, cache outcome).
public final class RequestNotes: Sendable {
    private struct Values {
        var upstream = "-"
        var cache = "-"
        var user = "-"
        var streaming = false
        var transferBound: Int64?
        var forwardedBy: String?
        var forwardedTo: String?
        var pullCharge = false
    }
    private let values = Mutex(Values())

    func record(upstream: String) { values.withLock { $0.upstream = upstream } }
    func record(cache: String) { values.withLock { $0.cache = cache } }
    func record(user: String) { values.withLock { $0.user = user } }
    var user: String { values.withLock { $0.user } }
    func record(streaming: Bool) { values.withLock { $0.streaming = streaming } }
    var upstream: String { values.withLock { $0.upstream } }
    var isStreaming: Bool { values.withLock { $0.streaming } }
    /// The most bytes a blob response of unknown length can send (what byte quotas reserve).
    func record(transferBound: Int64?) { values.withLock { $0.transferBound = transferBound } }
    var transferBound: Int64? { values.withLock { $0.transferBound } }
    var cache: String { values.withLock { $0.cache } }
    /// The node that forwarded this request (cluster mode: it authenticated the caller, applied
    /// their limits and counts their usage).
    func record(forwardedBy node: String) { values.withLock { $0.forwardedBy = node } }
    var forwardedBy: String? { values.withLock { $0.forwardedBy } }
    /// The owner this node forwarded the request to (cluster mode).
    func record(forwardedTo node: String) { values.withLock { $0.forwardedTo = node } }
    var forwardedTo: String? { values.withLock { $0.forwardedTo } }
    /// A forwarded manifest HEAD whose answer took an upstream GET (`Tollgate-Pull-Charge`).
    func record(pullCharge: Bool) { values.withLock { $0.pullCharge = pullCharge } }
    var pullCharge: Bool { values.withLock { $0.pullCharge } }
}
