import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// The connection pool behind a deadline: a call that has no connection (or, for a bare query,
/// no answer) within `deadline` fails with `DatabaseUnreachable`, and so does every call in the
/// `pause` after a connection-level failure, without waiting on the pool. Without it a request
/// made while the database is down would wait for the pool's retries (measured: over a minute)
/// instead of failing in seconds and letting its caller fall back.
final class GuardedClient: Sendable {
    let pool: PostgresClient
    let deadline: TimeAmount
    let pause: Duration
    private let downUntil = Mutex<ContinuousClock.Instant?>(nil)

    init(pool: PostgresClient, deadline: TimeAmount = .seconds(3), pause: Duration = .seconds(2)) {
        self.pool = pool
        self.deadline = deadline
        self.pause = pause
    }

    func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await guarded(untilStarted: false) { _ in try await self.pool.query(query, logger: logger) }
    }

    func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await guarded(untilStarted: true) { started in
            try await self.pool.withConnection { c in
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
        if let until = downUntil.withLock({ $0 }), ContinuousClock.now < until { throw DatabaseUnreachable() }
        let race = Race<T>()
        do {
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
        } catch {
            // What the server refused (a constraint, bad SQL) says nothing about reaching it.
            if (error as? PSQLError)?.code == .server || error is CancellationError { throw error }
            downUntil.withLock { $0 = ContinuousClock.now + pause }
            throw error is DatabaseUnreachable ? error : DatabaseUnreachable(reason: "\(error)")
        }
    }
}

/// The database could not be reached in time (or failed within the last moments).
public struct DatabaseUnreachable: Error, CustomStringConvertible {
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
