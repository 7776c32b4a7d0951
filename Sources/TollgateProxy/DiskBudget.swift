import RegistryCore
import Synchronization

/// `storage.max_size` for downloads in flight: each fill reserves the bytes it will write (its
/// known size at once, an unknown one in steps as it grows) before writing them, and the
/// reservation counts with the stored blobs. When they don't fit, the janitor is asked to evict
/// (`makeRoom`). Blobs used in the last seconds are spared by eviction (their grace), so under
/// heavy churn the stored bytes can stay above what is left for a while: a reservation is then
/// still granted while the downloads in flight alone fit in `maxSize` (the spared blobs become
/// evictable within the grace), and refused, stopping the download, once they don't. Disk use
/// stays below `maxSize` plus the grace's worth of churn plus the downloads in flight (≤ `maxSize`).
/// Without a `max_size` (or before a janitor connects) nothing is counted.
public final class DiskBudget: Sendable {
    private struct State {
        var maxSize: Int64?
        /// Bytes of stored blobs, as the janitor last counted them plus those committed since.
        var stored: Int64?
        var inFlight: Int64 = 0
        var makeRoom: (@Sendable () async -> Void)?
    }

    private let state = Mutex(State())

    /// Step in which a download of unknown size reserves.
    static let step: Int64 = 8 << 20

    public init() {}

    /// Connects the janitor that keeps the store within `maxSize`.
    public func connect(maxSize: Int64?, makeRoom: @escaping @Sendable () async -> Void) {
        state.withLock {
            $0.maxSize = maxSize
            $0.makeRoom = makeRoom
        }
    }

    /// Bytes reserved by downloads running now.
    public var inFlight: Int64 { state.withLock { $0.inFlight } }

    /// The janitor's count of the stored bytes.
    public func recordStored(_ bytes: Int64) { state.withLock { $0.stored = bytes } }

    /// Reserves `bytes`; false when they don't fit even after the janitor made room.
    func reserve(_ bytes: Int64) async -> Bool {
        enum Answer { case fits, unlimited, tight(@Sendable () async -> Void) }
        let first: Answer = state.withLock { s in
            guard s.maxSize != nil, let makeRoom = s.makeRoom else { return .unlimited }
            s.inFlight += bytes
            return Self.fits(s) ? .fits : .tight(makeRoom)
        }
        switch first {
        case .fits, .unlimited:
            return true
        case .tight(let makeRoom):
            await makeRoom()
            return state.withLock { s in
                if Self.fits(s) || s.inFlight <= (s.maxSize ?? .max) { return true }
                s.inFlight -= bytes
                return false
            }
        }
    }

    /// Gives back `reserved` bytes; `stored` of them are now a stored blob.
    func release(_ reserved: Int64, stored: Int64 = 0) {
        guard reserved > 0 else { return }
        state.withLock { s in
            guard s.maxSize != nil, s.makeRoom != nil else { return }
            s.inFlight = max(0, s.inFlight - reserved)
            if let known = s.stored { s.stored = known + stored }
        }
    }

    private static func fits(_ s: State) -> Bool {
        guard let max = s.maxSize else { return true }
        guard let stored = s.stored else { return false }  // not counted yet: ask the janitor
        return stored + s.inFlight <= max
    }
}

/// One download's reservation in the `DiskBudget` (used by the one task running it).
final class DiskReservation {
    let budget: DiskBudget
    private(set) var reserved: Int64 = 0

    init(_ budget: DiskBudget) { self.budget = budget }

    /// Makes sure `total` bytes are reserved (growing in steps of at least `DiskBudget.step`
    /// unless `exact`); throws 503 when the cache can't hold them.
    func cover(_ total: Int64, exact: Bool = false) async throws {
        guard total > reserved else { return }
        let more = exact ? total - reserved : max(total - reserved, DiskBudget.step)
        guard await budget.reserve(more) else {
            throw RegistryError(
                .unavailable, "the mirror's cache is full (storage.max_size): no room for this download now",
                retryAfter: 30)
        }
        reserved += more
    }

    /// Gives everything back; `stored` bytes of it became a stored blob.
    func release(stored: Int64 = 0) {
        budget.release(reserved, stored: stored)
        reserved = 0
    }
}
