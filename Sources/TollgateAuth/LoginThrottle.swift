import Synchronization

/// Counts failed logins per user and per client address; past `failures` within `window` the
/// key is locked until the window since its first failure ends (HTTP 429 + Retry-After).
public final class LoginThrottle: Sendable {
    public let failures: Int
    public let window: Duration

    private struct Counter {
        var count: Int
        var since: ContinuousClock.Instant
    }
    private let counters = Mutex<[String: Counter]>([:])
    private let capacity = 100_000

    public init(failures: Int, window: Duration) {
        self.failures = failures
        self.window = window
    }

    /// Seconds until `keys` may try again, or nil when none of them is locked.
    public func retryAfter(_ keys: [String], now: ContinuousClock.Instant = .now) -> Int? {
        counters.withLock { c in
            var wait: Duration?
            for key in keys {
                guard let counter = c[key] else { continue }
                if now - counter.since >= window {
                    c[key] = nil
                    continue
                }
                if counter.count >= failures {
                    let left = window - (now - counter.since)
                    wait = max(wait ?? .zero, left)
                }
            }
            return wait.map { Int(($0 / .seconds(1)).rounded(.up)) }.map { max(1, $0) }
        }
    }

    public func recordFailure(_ keys: [String], now: ContinuousClock.Instant = .now) {
        counters.withLock { c in
            if c.count >= capacity { c = c.filter { now - $0.value.since < window } }
            for key in keys {
                if let counter = c[key], now - counter.since < window {
                    c[key]!.count = counter.count + 1
                } else {
                    c[key] = Counter(count: 1, since: now)
                }
            }
        }
    }

    /// A successful login clears the user's counter (not the address's).
    public func recordSuccess(_ key: String) { _ = counters.withLock { $0.removeValue(forKey: key) } }
}
