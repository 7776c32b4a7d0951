import Synchronization

/// A least-recently-used map bounded by the total byte size of its values.
final class ByteLRU<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry {
        var value: Value
        var cost: Int
        var lastUse: UInt64
    }
    private struct State {
        var entries: [Key: Entry] = [:]
        var total = 0
        var clock: UInt64 = 0
    }
    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func get(_ key: Key) -> Value? {
        state.withLock { s in
            guard var e = s.entries[key] else { return nil }
            s.clock &+= 1
            e.lastUse = s.clock
            s.entries[key] = e
            return e.value
        }
    }

    func put(_ key: Key, _ value: Value, cost: Int) {
        guard cost <= capacity / 4 else { return }
        state.withLock { s in
            s.clock &+= 1
            if let old = s.entries[key] { s.total -= old.cost }
            s.entries[key] = Entry(value: value, cost: cost, lastUse: s.clock)
            s.total += cost
            if s.total > capacity {
                // Evict the oldest half-ish in one pass: amortised O(1) per insert.
                let sorted = s.entries.sorted { $0.value.lastUse < $1.value.lastUse }
                for (k, e) in sorted where s.total > capacity * 3 / 4 {
                    s.entries[k] = nil
                    s.total -= e.cost
                }
            }
        }
    }

    func remove(_ key: Key) {
        state.withLock { s in
            if let old = s.entries.removeValue(forKey: key) { s.total -= old.cost }
        }
    }

    var count: Int { state.withLock { $0.entries.count } }
}
