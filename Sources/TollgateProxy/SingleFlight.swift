import Synchronization

/// Runs one piece of work per key at a time: callers arriving while it runs wait for, and share,
/// its result. The first caller does the work in its own task (no unstructured task involved).
final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let waiting = Mutex<[Key: [CheckedContinuation<Value?, any Error>]]>([:])
    /// Called when a caller joins a run already going (for metrics).
    let onJoin: @Sendable () -> Void

    init(onJoin: @escaping @Sendable () -> Void = {}) { self.onJoin = onJoin }

    func run(_ key: Key, _ work: () async throws -> Value) async throws -> Value {
        while true {
            let leader = waiting.withLock { w in
                if w[key] != nil { return false }
                w[key] = []
                return true
            }
            if leader { break }
            onJoin()
            // Follow; nil means the leader finished before we could wait: try again.
            let shared: Value? = try await withCheckedThrowingContinuation { c in
                let parked = waiting.withLock { w in
                    guard w[key] != nil else { return false }
                    w[key]!.append(c)
                    return true
                }
                if !parked { c.resume(returning: nil) }
            }
            if let shared { return shared }
        }
        let result: Result<Value, any Error>
        do {
            result = .success(try await work())
        } catch {
            result = .failure(error)
        }
        let followers = waiting.withLock { $0.removeValue(forKey: key) ?? [] }
        for f in followers {
            switch result {
            case .success(let v): f.resume(returning: v)
            case .failure(let e): f.resume(throwing: e)
            }
        }
        return try result.get()
    }
}
