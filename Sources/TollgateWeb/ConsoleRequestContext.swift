import Hummingbird

/// What the console needs of the server's request context.
public protocol ConsoleRequestContext: RequestContext {
    /// The client's address (behind a trusted proxy: the one it forwarded for): login lockout.
    var clientAddress: String? { get }
    /// The mirror's origin as the browser reached it (`https://mirror.example`), nil when the
    /// request said no valid host.
    var consoleOrigin: String? { get }
}
