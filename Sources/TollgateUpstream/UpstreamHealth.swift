import Foundation
import Synchronization

/// How one upstream has been answering this process over the last hour: requests, failures
/// (unreachable, timeouts, protocol errors, 429 and 5xx) and time to the response head, in
/// one-minute buckets; the last success and the last failure; and the rate-limit headroom the
/// upstream reported (Docker Hub's `ratelimit-remaining` / `ratelimit-limit`) for the mirror's
/// shared identity. What the console's Upstreams page shows.
public final class UpstreamHealth: Sendable {
    public struct Report: Sendable {
        public var requests: Int
        public var failures: Int
        /// Mean and slowest time to the response head over the hour (nil: no answer).
        public var meanLatency: Duration?
        public var maxLatency: Duration?
        public var lastSuccess: Date?
        public var lastFailure: (at: Date, what: String)?
        /// Docker Hub's headroom as it last said: remaining of limit, and when.
        public var rateLimit: (remaining: Int, limit: Int?, at: Date)?

        public var errorRate: Double? { requests > 0 ? Double(failures) / Double(requests) : nil }
    }

    private struct Bucket {
        var minute: Int64 = -1
        var requests = 0
        var failures = 0
        var answered = 0
        var latencyNanos: Int64 = 0
        var maxNanos: Int64 = 0
    }

    private struct State {
        var buckets = [Bucket](repeating: Bucket(), count: 60)
        var lastSuccess: Date?
        var lastFailure: (at: Date, what: String)?
        var rateLimit: (remaining: Int, limit: Int?, at: Date)?
    }

    private let state = Mutex(State())
    let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = { Date() }) { self.now = now }

    private func bucket(_ s: inout State, _ t: Date) -> Int {
        let minute = Int64(t.timeIntervalSince1970 / 60)
        let i = Int(minute % 60)
        if s.buckets[i].minute != minute { s.buckets[i] = Bucket(minute: minute) }
        return i
    }

    /// A response head arrived after `latency`: a 429 or a 5xx counts as a failure.
    public func responded(status: Int, latency: Duration) {
        let t = now()
        let nanos = Int64(latency.components.seconds) * 1_000_000_000 + latency.components.attoseconds / 1_000_000_000
        state.withLock { s in
            let i = bucket(&s, t)
            s.buckets[i].requests += 1
            s.buckets[i].answered += 1
            s.buckets[i].latencyNanos += nanos
            s.buckets[i].maxNanos = max(s.buckets[i].maxNanos, nanos)
            if status == 429 || status >= 500 {
                s.buckets[i].failures += 1
                s.lastFailure = (t, "HTTP \(status)")
            } else {
                s.lastSuccess = t
            }
        }
    }

    /// No answer: unreachable, timed out, or a broken exchange.
    public func failed(_ what: String) {
        let t = now()
        state.withLock { s in
            let i = bucket(&s, t)
            s.buckets[i].requests += 1
            s.buckets[i].failures += 1
            s.lastFailure = (t, what)
        }
    }

    /// Docker Hub's `ratelimit-remaining: 76;w=21600` (and `ratelimit-limit: 100;w=21600`), as
    /// answered to the mirror's shared identity.
    public func noteRateLimit(remaining: String?, limit: String?) {
        func count(_ v: String?) -> Int? { v.flatMap { Int($0.split(separator: ";").first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? "") } }
        guard let left = count(remaining) else { return }
        let t = now()
        state.withLock { $0.rateLimit = (left, count(limit), t) }
    }

    /// The last hour.
    public func report() -> Report {
        let t = now()
        let current = Int64(t.timeIntervalSince1970 / 60)
        return state.withLock { s in
            var r = Report(requests: 0, failures: 0)
            var answered = 0
            var nanos: Int64 = 0
            var maxNanos: Int64 = 0
            for b in s.buckets where b.minute > current - 60 && b.minute <= current {
                r.requests += b.requests
                r.failures += b.failures
                answered += b.answered
                nanos += b.latencyNanos
                maxNanos = max(maxNanos, b.maxNanos)
            }
            if answered > 0 {
                r.meanLatency = .nanoseconds(nanos / Int64(answered))
                r.maxLatency = .nanoseconds(maxNanos)
            }
            r.lastSuccess = s.lastSuccess
            r.lastFailure = s.lastFailure
            r.rateLimit = s.rateLimit
            return r
        }
    }
}

extension UpstreamHealth.Report {
    init(requests: Int, failures: Int) {
        self.requests = requests
        self.failures = failures
    }
}
