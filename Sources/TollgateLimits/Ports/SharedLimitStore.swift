/// One window a shared charge counts in: a stored window name (`LimitKind.storedWindow`), the
/// start of the current window as the charging node's clock says, and its limit (nil: counted,
/// not limited).
public struct SharedWindow: Sendable, Hashable {
    public var kind: String
    public var start: Int64
    public var limit: Int64?

    public init(kind: String, start: Int64, limit: Int64?) {
        self.kind = kind
        self.start = start
        self.limit = limit
    }

    /// This window's count among stored records: 0 when the stored one began earlier (it is over).
    public func count(in stored: [LimitWindowRecord]) -> Int64 {
        guard let r = stored.first(where: { $0.kind == kind }), r.start >= start else { return 0 }
        return r.used
    }
}

/// What a charge did.
public enum SharedChargeOutcome: Sendable, Equatable {
    /// Counted: each window's count after it, in the order given.
    case counted([Int64])
    /// Nothing counted: window `index` would pass its limit; `used` is its count (for byte
    /// quotas with the bytes transfers in flight have reserved).
    case refused(index: Int, used: Int64)
}

/// A transfer in flight, reserved by a node for a subject.
public struct SharedTransfer: Sendable, Equatable {
    public var id: String
    public var subject: String
    public var node: String
    public var bytes: Int64

    public init(id: String, subject: String, node: String, bytes: Int64) {
        self.id = id
        self.subject = subject
        self.node = node
        self.bytes = bytes
    }
}

/// What a transfer reservation did.
public enum SharedTransferOutcome: Sendable, Equatable {
    /// Reserved: the byte windows' counts (without reservations), in the order given.
    case reserved([Int64])
    /// Every transfer slot is taken (`active` transfers in flight).
    case tooMany(active: Int64)
    /// Window `index` would pass its limit; `used` counts the bytes reserved in flight.
    case refused(index: Int, used: Int64)
}

/// Request tokens leased from a subject's shared bucket.
public struct SharedRequestLease: Sendable, Equatable {
    public var granted: Int64
    /// When nothing was granted: seconds until a token is there.
    public var waitSeconds: Double

    public init(granted: Int64, waitSeconds: Double) {
        self.granted = granted
        self.waitSeconds = waitSeconds
    }
}

/// The cluster's limit counters (limits): every node charges the same counts, each change one
/// atomic step, so the cluster as a whole never passes a limit.
///
/// Windows: a stored window that began before a charge's `start` starts over at 0; one that began
/// after it (a node whose clock lags behind) takes the charge in the stored window.
public protocol SharedLimitStore: Sendable {
    /// Adds `amount` to every window if none would pass its limit: all or nothing. (The same
    /// rule as one node's: refused when the count has reached the limit, or `amount` would pass it.)
    func charge(subject: String, windows: [SharedWindow], amount: Int64) async throws -> SharedChargeOutcome
    /// Charges as many of `want` single counts (pulls) as fit under the window's limit, in one
    /// step: `granted` of them (0…want), and the count after.
    func chargeUpTo(subject: String, window: SharedWindow, want: Int64) async throws -> (granted: Int64, used: Int64)
    /// Takes `amount` back from windows still at the given start, never below 0.
    func refund(subject: String, windows: [SharedWindow], amount: Int64) async throws
    /// Reserves a transfer slot (at most `maxActive` in flight; nil: no cap) and `transfer.bytes`
    /// of each byte window (its count plus what transfers in flight reserved), or refuses.
    func reserveTransfer(_ transfer: SharedTransfer, maxActive: Int64?, windows: [SharedWindow]) async throws
        -> SharedTransferOutcome
    /// Ends a reservation and counts the bytes really sent in each window (never refused: a
    /// transfer under way is not cut). Idempotent for the reservation. Returns each window's count
    /// after (empty when nothing was sent).
    @discardableResult
    func finishTransfer(id: String, subject: String, windows: [SharedWindow], sent: Int64) async throws -> [Int64]
    /// Ends every reservation of `node` (it restarted, or its heartbeat expired); returns how many.
    func releaseTransfers(node: String) async throws -> Int
    /// Transfers in flight for `subject`, and the bytes they reserved.
    func transfers(subject: String) async throws -> (active: Int64, reservedBytes: Int64)
    /// `subject`'s stored windows (any start).
    func windows(subject: String) async throws -> [LimitWindowRecord]
    /// Takes up to `want` tokens from `subject`'s bucket (`capacity` tokens, refilled at
    /// `perSecond` on the store's clock; full when new).
    func leaseRequests(subject: String, capacity: Int64, perSecond: Double, want: Int64) async throws -> SharedRequestLease
    /// Puts back tokens leased and not used (the bucket never holds more than `capacity`).
    func returnRequests(subject: String, capacity: Int64, count: Int64) async throws
    /// The tokens in `subject`'s bucket now (`capacity` when it has none yet).
    func requestTokens(subject: String, capacity: Int64, perSecond: Double) async throws -> Double
}
