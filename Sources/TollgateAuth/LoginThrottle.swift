import Synchronization

/// Counts login attempts per user and per client address. An attempt takes a slot on each of
/// its keys *before* its password is checked, and a key has `failures` slots: settled failures
/// within `window` plus attempts still being checked. So a burst of parallel guesses gets at most
/// `failures` verdicts, and slow (bcrypt) work per user and per address is bounded. Past
/// `failures` settled failures the key is locked until the window since its first failure ends
/// (HTTP 429 + Retry-After). An attempt that finds every slot held by attempts in flight waits
/// for one (a few, briefly), else it is refused with a short Retry-After.
///
/// A burst larger than the slots and the waiting places *overflows* the key. A right password
/// checked in a burst that overflowed and in which some guess failed is a guess among many, not
/// a login: it is refused and the key locked for the window (`settleSuccess`). A burst of right
/// passwords (many clients of one account starting at once) overflows without failures and is
/// not affected.
public final class LoginThrottle: Sendable {
    /// Whose attempts a slot counts: a user name's, or a client address's.
    public enum Key: Hashable, Sendable {
        case user(String)
        case address(String)
        /// Every name that can't be a user (no per-name state for garbage).
        case impossibleUser

        /// The keys of one attempt: its user's (or `impossibleUser`) and, when known, its client's.
        public static func attempt(user: String, isPossibleName: Bool, client: String?) -> [Key] {
            [isPossibleName ? .user(user) : .impossibleUser] + (client.map { [.address($0)] } ?? [])
        }
    }

    public let failures: Int
    public let window: Duration
    /// How long an attempt may wait for a slot held by attempts in flight.
    let maxWait: Duration
    /// Attempts that may wait per key; more are refused at once.
    let maxWaiting: Int

    private struct Counter {
        var failed = 0
        var since: ContinuousClock.Instant?
        var inFlight = 0
        var waiting = 0
        /// Right passwords waiting for the rest of their burst to settle (they hold their slot).
        var pending = 0
        /// When an attempt last found every slot and waiting place taken.
        var overflowed: ContinuousClock.Instant?
        var isIdle: Bool { failed == 0 && inFlight == 0 && pending == 0 && waiting == 0 && overflowed == nil }
    }
    private let counters = Mutex<[Key: Counter]>([:])
    private let capacity = 100_000

    public init(failures: Int, window: Duration, maxWait: Duration = .seconds(5), maxWaiting: Int? = nil) {
        self.failures = failures
        self.window = window
        self.maxWait = maxWait
        self.maxWaiting = maxWaiting ?? max(4, failures)
    }

    /// A slot held by one attempt; settle it exactly once with `succeeded()` or `failed()`.
    public struct Slot: Sendable {
        let keys: [Key]
    }

    public enum Admission: Sendable {
        case admitted(Slot)
        /// Locked (or every slot busy): retry after this many seconds.
        case refused(retryAfter: Int)
    }

    /// Takes a slot on every key, waiting up to `maxWait` while the slots are held by attempts in
    /// flight (they may succeed and free them).
    public func begin(_ keys: [Key], clock: ContinuousClock = .init()) async -> Admission {
        let deadline = clock.now + maxWait
        var queued = false
        defer { if queued { changeWaiting(keys, by: -1) } }
        while true {
            switch tryBegin(keys, queue: !queued, now: clock.now) {
            case .admitted(let slot): return .admitted(slot)
            case .locked(let wait): return .refused(retryAfter: wait)
            case .busy(let enqueued):
                queued = queued || enqueued
                guard queued, clock.now < deadline else { return .refused(retryAfter: 1) }
                // Slots free when a bcrypt check ends (tens of ms): poll at a fraction of that.
                try? await Task.sleep(for: .milliseconds(15))
                if Task.isCancelled { return .refused(retryAfter: 1) }
            }
        }
    }

    enum Try {
        case admitted(Slot)
        case locked(Int)
        /// All slots in flight; `enqueued` when this call took a waiting place.
        case busy(enqueued: Bool)
    }

    func tryBegin(_ keys: [Key], queue: Bool, now: ContinuousClock.Instant = .now) -> Try {
        counters.withLock { c in
            var lockedFor: Duration?
            var busy = false
            for key in keys {
                guard var counter = c[key] else { continue }
                if let since = counter.since, now - since >= window {
                    counter.failed = 0
                    counter.since = nil
                    c[key] = counter
                }
                if let o = counter.overflowed, now - o >= window {
                    counter.overflowed = nil
                    c[key] = counter
                }
                if counter.failed >= failures, let since = counter.since {
                    lockedFor = max(lockedFor ?? .zero, window - (now - since))
                } else if counter.failed + counter.inFlight + counter.pending >= failures {
                    busy = true
                }
            }
            if let lockedFor { return .locked(max(1, Int((lockedFor / .seconds(1)).rounded(.up)))) }
            if busy {
                guard queue else { return .busy(enqueued: false) }
                guard keys.allSatisfy({ (c[$0]?.waiting ?? 0) < maxWaiting }) else {
                    for key in keys { c[key, default: Counter()].overflowed = now }
                    return .busy(enqueued: false)
                }
                for key in keys { c[key, default: Counter()].waiting += 1 }
                return .busy(enqueued: true)
            }
            if c.count >= capacity { c = c.filter { !Self.expired($0.value, now, window) } }
            for key in keys { c[key, default: Counter()].inFlight += 1 }
            return .admitted(Slot(keys: keys))
        }
    }

    private static func expired(_ c: Counter, _ now: ContinuousClock.Instant, _ window: Duration) -> Bool {
        c.inFlight == 0 && c.waiting == 0 && (c.since.map { now - $0 >= window } ?? true)
            && (c.overflowed.map { now - $0 >= window } ?? true)
    }

    private func changeWaiting(_ keys: [Key], by delta: Int) {
        counters.withLock { c in
            for key in keys { c[key]?.waiting += delta }
            for key in keys where c[key]?.isIdle == true { c[key] = nil }
        }
    }

    /// The attempt failed: its slots become failures (counted from the first in `window`).
    public func failed(_ slot: Slot, now: ContinuousClock.Instant = .now, inFlight: Bool = true) {
        counters.withLock { c in
            for key in slot.keys {
                var counter = c[key, default: Counter()]
                if inFlight { counter.inFlight = max(0, counter.inFlight - 1) }
                if let since = counter.since, now - since >= window {
                    counter.failed = 0
                    counter.since = nil
                }
                counter.failed += 1
                if counter.since == nil { counter.since = now }
                c[key] = counter
            }
        }
    }

    /// The password was right. Unless the attempt belongs to a burst of guesses, it succeeded:
    /// true. A burst is a key that overflowed within the window; once the burst's other attempts
    /// in flight have settled (at most `maxWait`), a settled failure on such a key makes this a
    /// guess among many: the slot counts as a failure, the keys are locked for the window, and
    /// the attempt must be refused: false.
    public func settleSuccess(_ slot: Slot, userKey: Key, clock: ContinuousClock = .init()) async -> Bool {
        let deadline = clock.now + maxWait
        counters.withLock { c in
            for key in slot.keys {
                c[key, default: Counter()].inFlight -= 1
                c[key, default: Counter()].pending += 1
            }
        }
        while true {
            let now = clock.now
            let verdict: Bool? = counters.withLock { c in
                let burst = slot.keys.filter { key in c[key]?.overflowed.map { now - $0 < window } ?? false }
                if burst.isEmpty { return true }
                if burst.contains(where: { (c[$0]?.failed ?? 0) > 0 }) { return false }
                let settled = burst.allSatisfy { (c[$0]?.inFlight ?? 0) == 0 }
                return settled || now >= deadline ? true : nil
            }
            if let verdict {
                counters.withLock { c in for key in slot.keys { c[key]?.pending -= 1 } }
                if verdict {
                    succeeded(slot, userKey: userKey, inFlight: false)
                } else {
                    failed(slot, now: now, inFlight: false)
                    counters.withLock { c in
                        for key in slot.keys {
                            var counter = c[key, default: Counter()]
                            counter.failed = max(counter.failed, failures)
                            counter.since = now
                            c[key] = counter
                        }
                    }
                }
                return verdict
            }
            try? await Task.sleep(for: .milliseconds(15))
        }
    }

    /// The attempt could not be decided (the credentials' store was unreachable): its slots are
    /// released, neither a failure nor a success.
    public func undecided(_ slot: Slot) {
        counters.withLock { c in
            for key in slot.keys {
                guard var counter = c[key] else { continue }
                counter.inFlight = max(0, counter.inFlight - 1)
                c[key] = counter.isIdle ? nil : counter
            }
        }
    }

    /// The attempt succeeded: its slots are released and the user's failures (`userKey`, not the
    /// address's) are cleared.
    public func succeeded(_ slot: Slot, userKey: Key, inFlight: Bool = true) {
        counters.withLock { c in
            for key in slot.keys {
                guard var counter = c[key] else { continue }
                if inFlight { counter.inFlight = max(0, counter.inFlight - 1) }
                if key == userKey {
                    counter.failed = 0
                    counter.since = nil
                }
                c[key] = counter.isIdle ? nil : counter
            }
        }
    }

    /// Seconds until `keys` may try again when one of them is locked by settled failures, else
    /// nil. For paths that check nothing new (remembered credentials): they take no slot, but
    /// never pass a lockout.
    public func retryAfter(_ keys: [Key], now: ContinuousClock.Instant = .now) -> Int? {
        counters.withLock { c in
            var wait: Duration?
            for key in keys {
                guard let counter = c[key], counter.failed >= failures, let since = counter.since,
                    now - since < window
                else { continue }
                wait = max(wait ?? .zero, window - (now - since))
            }
            return wait.map { max(1, Int(($0 / .seconds(1)).rounded(.up))) }
        }
    }
}
