import Synchronization

/// What the HTTP layer asks of limits, whoever keeps the counts: one node's in-memory
/// `RateLimiter`, or the cluster's `SharedLimiter` (counts in a shared store, exact across nodes).
public protocol Limiter: Sendable {
    var plans: PlanBook { get }
    var clock: LimitClock { get }
    /// Counts one request (and a pull, when `pull`) or refuses it; nothing is counted on refusal.
    /// Without `request`, only the pull (for a request admitted already).
    func admit(_ subject: Principal, pull: Bool, request: Bool) async -> Result<Admission, LimitExceeded>
    /// Gives back a pull whose request failed (a manifest that was not served).
    func refundPull(_ subject: Principal) async
    /// A cheap early refusal for a blob download, before its size is known.
    func precheckTransfer(_ subject: Principal) async -> LimitExceeded?
    /// Reserves a transfer slot and `bytes` of the byte quotas, or refuses.
    func beginTransfer(_ subject: Principal, bytes: Int64) async -> Result<TransferTicket, LimitExceeded>
    /// Where `subject` stands now.
    func status(_ subject: Principal) async -> LimitStatus
    /// Drops what memory holds of a deleted user.
    func forget(_ subject: Principal)
}

extension RateLimiter: Limiter {}

/// A reserved transfer slot; `finish(sent:)` once, with the bytes really sent (its deinit
/// finishes it with 0 if it never ran).
public final class TransferTicket: Sendable {
    private let settle: @Sendable (Int64) -> Void
    private let done = Atomic<Bool>(false)

    /// `settle`: called once, with the bytes sent.
    public init(settle: @escaping @Sendable (Int64) -> Void) { self.settle = settle }

    public func finish(sent: Int64) {
        guard !done.exchange(true, ordering: .acquiringAndReleasing) else { return }
        settle(sent)
    }

    deinit { finish(sent: 0) }
}
