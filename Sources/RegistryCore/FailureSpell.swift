import Synchronization

/// A run of failures of one recurring job (a poll, a flush), so an outage is logged once when it
/// begins and once when it ends, not at every try.
public final class FailureSpell: Sendable {
    private let failing = Atomic<Bool>(false)

    public init() {}

    /// Notes a failure; true when it begins a spell.
    public func failed() -> Bool { !failing.exchange(true, ordering: .relaxed) }

    /// Notes a success; true when it ends a spell.
    public func succeeded() -> Bool { failing.exchange(false, ordering: .relaxed) }
}
