import Synchronization

/// The configured plans and each user's plan choice and overrides: answers "which limits apply
/// to this subject". Settings are replaced wholesale when the CLI changes them; every
/// replacement bumps `generation`, so callers that cached limits know to ask again.
public final class PlanBook: Sendable {
    public let plans: [String: Plan]
    public let defaultPlan: String
    /// The plan for anonymous requests (per client address group).
    public let anonymousPlan: String
    private let settings = Mutex<[String: UserLimitSettings]>([:])
    private let version = Atomic<UInt64>(0)

    public init(plans: [String: Plan], defaultPlan: String, anonymousPlan: String = "anonymous") {
        self.plans = plans
        self.defaultPlan = defaultPlan
        self.anonymousPlan = anonymousPlan
    }

    /// Changes whenever settings change.
    public var generation: UInt64 { version.load(ordering: .acquiring) }

    public func limits(for subject: Principal) -> EffectiveLimits {
        switch subject {
        case .anonymous:
            return effective(plan: anonymousPlan, overrides: [:])
        case .user(let name):
            let s = settings.withLock { $0[name.value] }
            return effective(plan: s?.plan ?? defaultPlan, overrides: s?.overrides ?? [:])
        }
    }

    public func settings(of user: String) -> UserLimitSettings? { settings.withLock { $0[user] } }

    private func effective(plan name: String, overrides: [LimitKind: Int64?]) -> EffectiveLimits {
        // A plan removed from the configuration after it was assigned: the default applies.
        let plan = plans[name] ?? plans[defaultPlan] ?? Plan(name: defaultPlan, limits: PlanLimits())
        return EffectiveLimits(plan: plan.name, limits: plan.limits.applying(overrides))
    }

    /// Replaces all user settings; returns whether anything changed.
    @discardableResult
    public func replace(_ new: [String: UserLimitSettings]) -> Bool {
        let changed = settings.withLock { current -> Bool in
            guard current != new else { return false }
            current = new
            return true
        }
        if changed { version.add(1, ordering: .releasing) }
        return changed
    }

    /// Stored override names that no limit kind of this version knows (written by a newer one, or
    /// by hand), per user: `settings(from:)` leaves them out, so whoever reads them says so.
    public static func unknownLimitKeys(in records: [UserSettingsRecord]) -> [(user: String, key: String)] {
        records.flatMap { r in r.overrides.keys.sorted().filter { LimitKind(key: $0) == nil }.map { (r.user, $0) } }
    }

    /// The settings records of the store, keyed by user, leaving out limit names this version
    /// doesn't know (see `unknownLimitKeys`).
    public static func settings(from records: [UserSettingsRecord]) -> [String: UserLimitSettings] {
        var result: [String: UserLimitSettings] = [:]
        for r in records {
            var overrides: [LimitKind: Int64?] = [:]
            for (key, value) in r.overrides {
                if let kind = LimitKind(key: key) { overrides[kind] = value }
            }
            result[r.user] = UserLimitSettings(plan: r.plan, overrides: overrides)
        }
        return result
    }

    public static func record(user: String, _ s: UserLimitSettings) -> UserSettingsRecord {
        var overrides: [String: Int64?] = [:]
        for (kind, value) in s.overrides { overrides[kind.key] = value }
        return UserSettingsRecord(user: user, plan: s.plan, overrides: overrides)
    }
}
