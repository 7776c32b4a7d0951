import HTTPTypes
import Hummingbird
import RegistryCore
import ServiceLifecycle
import Synchronization

/// Graceful shutdown, first step (before the HTTP server quiesces): new requests are refused
/// with 503, and running transfers get up to `shutdown_timeout` to finish — plus a moment for
/// their last bytes to leave the socket buffers, because the server closes a connection as soon
/// as a response's end is queued, dropping what was not yet written.
final class TransferDrain: Sendable {
    private let active = Atomic<Int>(0)
    private let draining = Atomic<Bool>(false)

    var isDraining: Bool { draining.load(ordering: .relaxed) }
    func begin() { active.add(1, ordering: .relaxed) }
    func end() { active.subtract(1, ordering: .relaxed) }
    var running: Int { active.load(ordering: .relaxed) }

    struct Service: ServiceLifecycle.Service {
        let drain: TransferDrain
        let timeout: Duration

        func run() async {
            try? await gracefulShutdown()
            drain.draining.store(true, ordering: .relaxed)
            let deadline = ContinuousClock.now + timeout
            while drain.running > 0, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            }
            // The last queued bytes of finished transfers: let them reach the clients.
            let settle = min(.seconds(1), max(.zero, deadline - ContinuousClock.now))
            try? await Task.sleep(for: settle)
        }
    }
}

/// Refuses new requests while the server drains for shutdown.
struct DrainMiddleware: RouterMiddleware {
    typealias Context = TollgateContext
    let drain: TransferDrain

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard drain.isDraining else { return try await next(request, context) }
        var e = RegistryError(.unavailable, "the mirror is shutting down", retryAfter: 5)
        e.headers["Connection"] = "close"
        throw e
    }
}
