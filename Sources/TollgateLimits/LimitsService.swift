import Logging
import RegistryCore
import ServiceLifecycle

/// Keeps limits and usage durable:
/// - every `flushInterval`, it writes the ledger's new counts and the limit windows that
///   changed (so a crash loses at most that interval, never the history);
/// - at graceful shutdown (after the HTTP server has stopped), a last flush.
/// (User settings are reloaded by the server's settings watcher, which fills `limiter.plans`.)
public struct LimitsService: Service {
    let limiter: RateLimiter
    let ledger: UsageLedger
    let usageStore: any UsageLedgerStore
    let windowStore: any LimitWindowStore
    let logger: Logger
    let flushInterval: Duration
    /// Whether the last flush failed (an outage is logged once, and its end).
    private let failing = FailureSpell()

    public init(
        limiter: RateLimiter, ledger: UsageLedger, usageStore: any UsageLedgerStore, windowStore: any LimitWindowStore,
        logger: Logger, flushInterval: Duration = .seconds(1)
    ) {
        self.limiter = limiter
        self.ledger = ledger
        self.usageStore = usageStore
        self.windowStore = windowStore
        self.logger = logger
        self.flushInterval = flushInterval
    }

    /// Reads the current windows from the store; call before serving. Stored windows no limit
    /// kind of this version has (written by a newer one) don't apply: `logger` is told.
    public static func load(limiter: RateLimiter, store: any LimitWindowStore, logger: Logger? = nil) async throws {
        // Monthly windows are the longest: anything that began in the last 31 days may be current.
        let since = limiter.clock.wall() - WindowPeriod.month.seconds
        for name in limiter.restore(try await store.limitWindows(since: since)) {
            logger?.error(
                "stored limit window names no limit of this version; it does not apply", metadata: ["window": "\(name)"])
        }
    }

    public func run() async throws {
        var sinceForget = Duration.zero
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.flushInterval) }
            sinceForget += flushInterval
            await flush()
            if sinceForget >= .seconds(60) {
                sinceForget = .zero
                limiter.forgetIdle()
                try? await windowStore.pruneLimitWindows(before: limiter.clock.wall() - 40 * 86400)
            }
        }
        // The last flush must happen even when shutdown ended in cancellation: run it outside it.
        await Task { await self.flush() }.value
    }

    /// Writes pending usage and changed windows; on failure they are kept for the next try.
    public func flush() async {
        let usage = ledger.drain()
        let windows = limiter.takeChangedWindows()
        guard !usage.isEmpty || !windows.isEmpty else { return }
        var failure: (any Error)?
        do {
            try await usageStore.addUsage(usage)
        } catch {
            ledger.putBack(usage)
            failure = error
        }
        do {
            try await windowStore.saveLimitWindows(windows)
        } catch {
            limiter.markChanged(windows)
            failure = error
        }
        report(failure)
    }

    /// Logs the first failure of a run of them, and the first success after.
    private func report(_ error: (any Error)?) {
        if let error {
            if failing.failed(), !(error is CancellationError) {
                logger.error("could not store usage; keeping it in memory and retrying every second", metadata: ["error": "\(error)"])
            }
        } else if failing.succeeded() {
            logger.notice("usage stored again")
        }
    }
}
