import TollgateLimits

/// One limit of a user's plan as the overview shows it: how much is used, of how much, and when
/// it starts again. Pure: built from a `LimitStatus`.
public struct Meter: Sendable, Equatable {
    public var key: String
    public var title: String
    public var used: Int64
    /// nil: no limit of this kind.
    public var limit: Int64?
    public var unit: LimitUnit
    /// When the window starts again (Unix seconds); nil for the rate and the concurrency limits.
    public var resetsAt: Int64?

    public var reached: Bool { limit.map { used >= $0 } ?? false }
    /// 0…100 (0 without a limit).
    public var percent: Int {
        guard let limit, limit > 0 else { return limit == 0 ? 100 : 0 }
        return Int(min(100, (Double(used) * 100 / Double(limit)).rounded()))
    }
    public var usedText: String { unit.format(used) }
    public var limitText: String { limit.map(unit.format) ?? "unlimited" }

    /// Every limit kind, in the plan's order.
    public static func meters(_ status: LimitStatus, now: Int64) -> [Meter] {
        LimitKind.allCases.map { kind in
            let limit = status.limits.limits[kind]
            let about = kind.about
            switch about.span {
            case .window(let period, _, _):
                let w = status[window: kind]!
                let title =
                    switch period {
                    case .sixHours: "Pulls in this 6-hour window"
                    case .day: "Bytes today (UTC)"
                    case .month: "Bytes this month (UTC)"
                    }
                return Meter(
                    key: about.key, title: title, used: w.used + (about.counts == .blobBytes ? status.reservedBytes : 0),
                    limit: limit, unit: about.unit, resetsAt: now + w.secondsLeft)
            case .bucket:
                let used = limit.map { max(0, $0 - (status.requestsRemaining ?? $0)) } ?? 0
                return Meter(key: about.key, title: "Requests in the last minute", used: used, limit: limit, unit: .count)
            case .concurrent:
                return Meter(
                    key: about.key, title: "Downloads running now", used: status.activeTransfers, limit: limit, unit: .count)
            }
        }
    }
}
