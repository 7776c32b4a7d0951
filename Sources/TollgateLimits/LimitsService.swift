import Logging
import ServiceLifecycle
import TollgateStorage

/// Keeps limits and usage durable and settings current:
/// - every `flushInterval`, one transaction writes the ledger's new counts and the limit windows
///   that changed (so a crash loses at most that interval, never the history);
/// - every `pollInterval`, the settings version is read, and user settings reloaded when the CLI
///   changed them;
/// - at graceful shutdown (after the HTTP server has stopped), a last flush.
public struct LimitsService: Service {
    let limiter: RateLimiter
    let ledger: UsageLedger
    let store: any UsageStore
    let logger: Logger
    let flushInterval: Duration
    let pollInterval: Duration
    /// The settings version `load` returned.
    let loadedVersion: Int64

    /// `loadedVersion`: what `load` returned before the server started.
    public init(
        limiter: RateLimiter, ledger: UsageLedger, store: any UsageStore, logger: Logger, loadedVersion: Int64,
        flushInterval: Duration = .seconds(1), pollInterval: Duration = .milliseconds(250)
    ) {
        self.limiter = limiter
        self.ledger = ledger
        self.store = store
        self.logger = logger
        self.flushInterval = flushInterval
        self.pollInterval = pollInterval
        self.loadedVersion = loadedVersion
    }

    /// Reads settings and the current windows from the store; call before serving.
    public static func load(limiter: RateLimiter, store: any UsageStore) async throws -> Int64 {
        let version = try await store.settingsVersion()
        limiter.plans.replace(PlanBook.settings(from: try await store.userSettings()))
        // Monthly windows are the longest: anything that began in the last 31 days may be current.
        let since = limiter.clock.wall() - WindowPeriod.month.seconds
        limiter.restore(try await store.limitWindows(since: since))
        return version
    }

    public func run() async throws {
        var version = loadedVersion
        var sinceFlush = Duration.zero
        var sinceForget = Duration.zero
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await Task.sleep(for: pollInterval)
            sinceFlush += pollInterval
            sinceForget += pollInterval
            version = await reloadIfChanged(version)
            if sinceFlush >= flushInterval {
                sinceFlush = .zero
                await flush()
            }
            if sinceForget >= .seconds(60) {
                sinceForget = .zero
                limiter.forgetIdle()
                try? await store.pruneLimitWindows(before: limiter.clock.wall() - 40 * 86400)
            }
        }
        await flush()
    }

    /// Writes pending usage and changed windows; on failure they are kept for the next try.
    public func flush() async {
        let usage = ledger.drain()
        let windows = limiter.takeChangedWindows()
        guard !usage.isEmpty || !windows.isEmpty else { return }
        do {
            try await store.record(usage: usage, windows: windows)
        } catch {
            ledger.putBack(usage)
            limiter.markChanged(windows)
            logger.error("could not store usage; will retry", metadata: ["error": "\(error)"])
        }
    }

    private func reloadIfChanged(_ version: Int64) async -> Int64 {
        do {
            let now = try await store.settingsVersion()
            guard now != version else { return version }
            limiter.plans.replace(PlanBook.settings(from: try await store.userSettings()))
            logger.info("user settings reloaded")
            return now
        } catch {
            logger.error("could not read user settings", metadata: ["error": "\(error)"])
            return version
        }
    }
}
