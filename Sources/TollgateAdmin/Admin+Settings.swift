import TollgateAuth
import TollgateLimits

extension Admin {
    /// What `user set` changes; nil/empty leaves a part as it is.
    public struct SettingsChange: Sendable {
        public var plan: String?
        /// Limit overrides to merge in; a value of nil means unlimited.
        public var overrides: [LimitKind: Int64?]
        /// Replace the allow (deny) list when non-empty.
        public var allow: [String]
        public var deny: [String]
        /// Return to the defaults first (plan, limits, policy), then apply the rest.
        public var clearFirst: Bool

        public init(
            plan: String? = nil, overrides: [LimitKind: Int64?] = [:], allow: [String] = [], deny: [String] = [],
            clearFirst: Bool = false
        ) {
            self.plan = plan
            self.overrides = overrides
            self.allow = allow
            self.deny = deny
            self.clearFirst = clearFirst
        }

        var isEmpty: Bool { plan == nil && overrides.isEmpty && allow.isEmpty && deny.isEmpty && !clearFirst }
    }

    /// A user's settings after a change, and the limits and policy that now apply.
    public struct UserSettingsView: Sendable {
        public var record: UserSettingsRecord
        public var effective: EffectiveLimits
        public var allow: [String]
        public var deny: [String]
    }

    /// Fails unless `plan` (when given) is configured or built in.
    public func checkPlan(_ plan: String?) throws {
        if let plan, policy.plans[plan] == nil {
            throw AdminError("no plan \(plan) (plans: \(policy.plans.keys.sorted().joined(separator: ", ")))")
        }
    }

    /// Changes a user's plan, limit overrides and access policy; a running server applies them
    /// within a second.
    public func setUserSettings(_ name: String, _ change: SettingsChange) async throws -> UserSettingsView {
        let user = try await requireUser(name)
        try checkPlan(change.plan)
        for glob in change.allow + change.deny where !AccessPolicy.isValidGlob(glob) {
            throw AdminError("--allow/--deny: \(glob) is not a glob over <upstream>/<repository> (e.g. docker.io/library/*)")
        }
        guard !change.isEmpty else {
            throw AdminError("nothing to set: give --plan, a limit option, --allow/--deny, or --clear-overrides")
        }
        let existing = try await stores.userSettings.userSettings().first { $0.user == name }
        var record = change.clearFirst ? UserSettingsRecord(user: name) : (existing ?? UserSettingsRecord(user: name))
        // Rewriting would drop a limit this version doesn't know: refuse instead of losing it.
        if let unknown = PlanBook.unknownLimitKeys(in: [record]).first {
            throw AdminError(
                "\(name)'s stored settings name a limit this version doesn't know (\(unknown.key)); use the tollgate that set it, or --clear-overrides")
        }
        var settings = PlanBook.settings(from: [record])[name] ?? UserLimitSettings()
        if let plan = change.plan { settings.plan = plan }
        settings.overrides.merge(change.overrides) { _, new in new }
        let limits = PlanBook.record(user: name, settings)
        record.plan = limits.plan
        record.overrides = limits.overrides
        if !change.allow.isEmpty { record.allow = change.allow }
        if !change.deny.isEmpty { record.deny = change.deny }
        try await stores.userSettings.putUserSettings(record)
        let book = PlanBook(plans: policy.plans, defaultPlan: policy.defaultPlan)
        book.replace([name: settings])
        return UserSettingsView(
            record: record, effective: book.limits(for: .user(user)), allow: record.allow ?? policy.defaultAllow,
            deny: record.deny ?? policy.defaultDeny)
    }
}
