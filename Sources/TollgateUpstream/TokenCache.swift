import Synchronization

/// Bearer tokens an upstream's token server handed out, by scope, until shortly before they expire.
final class TokenCache: Sendable {
    private struct Entry {
        var token: String
        var expires: ContinuousClock.Instant
    }
    private let entries = Mutex<[String: Entry]>([:])
    /// Bounded: scopes are per repository, so a busy mirror sees many.
    private let capacity = 4096

    func token(for scope: String, now: ContinuousClock.Instant = .now) -> String? {
        entries.withLock { e in
            guard let entry = e[scope] else { return nil }
            if entry.expires <= now {
                e[scope] = nil
                return nil
            }
            return entry.token
        }
    }

    func store(_ token: String, for scope: String, lifetime: Duration, now: ContinuousClock.Instant = .now) {
        // Renew 10 s (or a third of a short lifetime) before the server's expiry.
        let margin = min(.seconds(10), lifetime / 3)
        entries.withLock { e in
            if e.count >= capacity {
                e = e.filter { $0.value.expires > now }
                if e.count >= capacity { e.removeAll(keepingCapacity: true) }
            }
            e[scope] = Entry(token: token, expires: now + lifetime - margin)
        }
    }

    func invalidate(_ scope: String) {
        _ = entries.withLock { $0.removeValue(forKey: scope) }
    }
}
