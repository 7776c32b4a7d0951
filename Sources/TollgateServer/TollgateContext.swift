import Hummingbird
import Synchronization

/// Per-request state.
public struct TollgateContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// What the handler learned, for the access log.
    public let notes = RequestNotes()

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }
}

/// Facts a handler records for the access-log line written after it (upstream, cache outcome).
public final class RequestNotes: Sendable {
    private struct Values {
        var upstream = "-"
        var cache = "-"
        var streaming = false
    }
    private let values = Mutex(Values())

    func record(upstream: String) { values.withLock { $0.upstream = upstream } }
    func record(cache: String) { values.withLock { $0.cache = cache } }
    func record(streaming: Bool) { values.withLock { $0.streaming = streaming } }
    var upstream: String { values.withLock { $0.upstream } }
    var isStreaming: Bool { values.withLock { $0.streaming } }
    var cache: String { values.withLock { $0.cache } }
}
