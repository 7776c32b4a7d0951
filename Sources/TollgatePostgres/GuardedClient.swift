import CoreMetrics
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import RegistryCore
import Synchronization

/// The connection pool behind a deadline: a call that has no connection (or, for a bare query,
/// no answer) within `deadline` fails with `DatabaseUnreachable`, and so does every call after a
/// connection-level failure until a probe finds the database again, without waiting on the pool.
/// Without it a request made while the database is down would wait for the pool's retries
/// (measured: over a minute) instead of failing in seconds and letting its caller fall back.
///
/// After such a failure a probe runs every second until the database answers: through the pool,
/// else through a new pool, which then replaces the old one (whose retries back off to a minute
/// between attempts after a long outage; the old one is closed 30 s later).
final class GuardedClient: Sendable {
    let configuration: PostgresClient.Configuration
    let backgroundLogger: Logger
    let deadline: TimeAmount
    private struct Pool {
        var client: PostgresClient
        var running: Task<Void, Never>
    }
    private let current: Mutex<Pool>
    /// Set from a connection-level failure until the probe finds the database again.
    private let probing = Atomic<Bool>(false)
    /// `tollgate_database_seconds` (each call, until its answer starts) and
    /// `tollgate_database_errors_total` (calls that failed to reach the database).
    let latency: Timer?
    let errors: Counter?

    init(
        configuration: PostgresClient.Configuration, backgroundLogger: Logger, metrics: (any MetricsFactory)?,
        deadline: TimeAmount = .seconds(3)
    ) {
        self.configuration = configuration
        self.backgroundLogger = backgroundLogger
        self.deadline = deadline
        self.current = Mutex(Self.start(configuration, backgroundLogger))
        self.latency = metrics.map { Timer(label: "tollgate_database_seconds", factory: $0) }
        self.errors = metrics.map { Counter(label: "tollgate_database_errors_total", factory: $0) }
    }

    private static func start(_ configuration: PostgresClient.Configuration, _ logger: Logger) -> Pool {
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return Pool(client: client, running: Task { await client.run() })
    }

    /// The pool in use.
    var pool: PostgresClient { current.withLock { $0.client } }

    /// Closes the pool.
    func shutdown() { current.withLock { $0.running.cancel() } }

    func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        let pool = self.pool
        return try await guarded(untilStarted: false) { _ in try await pool.query(query, logger: logger) }
    }

    func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let pool = self.pool
        return try await guarded(untilStarted: true) { started in
            try await pool.withConnection { c in
                started()
                return try await body(c)
            }
        }
    }

    func withTransaction<T: Sendable>(
        logger: Logger, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await guarded(untilStarted: true) { started in
            try await self.pool.withTransaction(logger: logger) { [logger] c in
                started()
                return try await body(c)
            }
        }
    }

    /// Runs `op`, failing it at the deadline unless it has started (`untilStarted`: the work on a
    /// leased connection runs to its end; a bare query has no such point and is timed whole).
    private func guarded<T: Sendable>(
        untilStarted: Bool, _ op: @escaping @Sendable (@escaping @Sendable () -> Void) async throws -> T
    ) async throws -> T {
        // While the probe looks for the database every call fails at once: a request never waits
        // out a connection attempt twice.
        if probing.load(ordering: .acquiring) {
            errors?.increment()
            throw DatabaseUnreachable()
        }
        let start = ContinuousClock.now
        defer {
            let (seconds, attoseconds) = (ContinuousClock.now - start).components
            latency?.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        }
        do {
            return try await withDeadline(untilStarted: untilStarted, op)
        } catch {
            // What the server refused (a constraint, bad SQL) says nothing about reaching it.
            guard Self.isUnreachable(error) else { throw error }
            errors?.increment()
            startProbing()
            throw error is DatabaseUnreachable ? error : DatabaseUnreachable(reason: "\(error)")
        }
    }

    /// Runs `op` in its own task; the answer is `DatabaseUnreachable` once `deadline` passes,
    /// unless `op` has said it started (when `untilStarted`).
    private func withDeadline<T: Sendable>(
        untilStarted: Bool, _ op: @escaping @Sendable (@escaping @Sendable () -> Void) async throws -> T
    ) async throws -> T {
        let race = Race<T>()
        return try await withCheckedThrowingContinuation { continuation in
            race.begin(continuation)
            let work = Task {
                do {
                    race.finish(.success(try await op { race.markStarted() }))
                } catch {
                    race.finish(.failure(error))
                }
            }
            let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: deadline) {
                if race.timeOut(unlessStarted: untilStarted) { work.cancel() }
            }
            race.onFinish { timer.cancel() }
        }
    }

    /// Whether `error` says the database could not be reached (or the connection broke), as
    /// opposed to the server refusing a statement or the caller's own error.
    static func isUnreachable(_ error: any Error) -> Bool {
        switch error {
        case is DatabaseUnreachable: return true
        case is CancellationError: return false
        case let e as PostgresTransactionError:
            return [e.beginError, e.closureError, e.commitError].contains { $0.map(isUnreachable) ?? false }
        case let e as PSQLError:
            return [.connectionError, .clientClosedConnection, .serverClosedConnection, .uncleanShutdown, .poolClosed]
                .contains(e.code)
        case is PostgresDecodingError: return false
        default:
            // The pool's own errors (circuit breaker, shut down) and the channel's (NIO, TLS).
            let type = String(reflecting: Swift.type(of: error))
            return type.contains("ConnectionPoolError") || type.hasPrefix("NIO") || type.contains("ChannelError")
                || type.contains("IOError") || type.contains("NIOSSL")
        }
    }

    /// Probes every second until the database answers (see the type's comment).
    private func startProbing() {
        guard !probing.exchange(true, ordering: .acquiringAndReleasing) else { return }
        Task {
            defer { probing.store(false, ordering: .releasing) }
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                if await answers(pool) { break }
                let fresh = Self.start(configuration, backgroundLogger)
                if await answers(fresh.client) {
                    let old = current.withLock { p in
                        defer { p = fresh }
                        return p.running
                    }
                    Task {
                        try? await Task.sleep(for: .seconds(30))
                        old.cancel()
                    }
                    break
                }
                fresh.running.cancel()
            }
        }
    }

    /// Whether `client` runs `SELECT 1` within the deadline.
    private func answers(_ client: PostgresClient) async -> Bool {
        let logger = backgroundLogger
        return (try? await withDeadline(untilStarted: false) { _ in
            for try await _ in try await client.query("SELECT 1", logger: logger) {}
            return true
        }) ?? false
    }
}

/// The database could not be reached in time (or failed within the last moments).
public struct DatabaseUnreachable: StoreUnreachable, CustomStringConvertible {
    /// What failed, when known.
    public var reason: String?

    public init(reason: String? = nil) { self.reason = reason }

    public var description: String { "database unreachable" + (reason.map { ": \($0)" } ?? "") }
}

/// One continuation, resumed once: by the work, or by the deadline.
private final class Race<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var started = false
        var done = false
        var onFinish: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())

    func begin(_ c: CheckedContinuation<T, any Error>) { state.withLock { $0.continuation = c } }

    func markStarted() { state.withLock { $0.started = true } }

    func onFinish(_ action: @escaping @Sendable () -> Void) {
        let finished = state.withLock { s -> Bool in
            if s.done { return true }
            s.onFinish = action
            return false
        }
        if finished { action() }
    }

    func finish(_ result: Result<T, any Error>) {
        let (c, action) = state.withLock { s -> (CheckedContinuation<T, any Error>?, (@Sendable () -> Void)?) in
            guard !s.done else { return (nil, nil) }
            s.done = true
            defer { s.continuation = nil }
            return (s.continuation, s.onFinish)
        }
        action?()
        c?.resume(with: result)
    }

    /// Fails the call unless it finished (or started, when that counts); true if it did.
    func timeOut(unlessStarted: Bool) -> Bool {
        let c = state.withLock { s -> CheckedContinuation<T, any Error>? in
            guard !s.done, !(unlessStarted && s.started) else { return nil }
            s.done = true
            defer { s.continuation = nil }
            return s.continuation
        }
        c?.resume(throwing: DatabaseUnreachable())
        return c != nil
    }
}
