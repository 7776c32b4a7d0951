import RegistryCore
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
        /// Return to the defaults first (plan, limits, policy; not the role or the end day), then
        /// apply the rest.
        public var clearFirst: Bool
        /// `admin` or `user`.
        public var role: String?
        /// The account's last day, `YYYY-MM-DD` (UTC), or `never`.
        public var expires: String?

        public init(
            plan: String? = nil, overrides: [LimitKind: Int64?] = [:], allow: [String] = [], deny: [String] = [],
            clearFirst: Bool = false, role: String? = nil, expires: String? = nil
        ) {
            self.plan = plan
            self.overrides = overrides
            self.allow = allow
            self.deny = deny
            self.clearFirst = clearFirst
            self.role = role
            self.expires = expires
        }

        var isEmpty: Bool {
            plan == nil && overrides.isEmpty && allow.isEmpty && deny.isEmpty && !clearFirst && role == nil && expires == nil
        }
    }

    /// A user's settings after a change, and the limits and policy that now apply.
    public struct UserSettingsView: Sendable {
        public var record: UserSettingsRecord
        public var effective: EffectiveLimits
        public var allow: [String]
        public var deny: [String]
    }

    /// What a change sets, as the audit log says it.
    static func describe(_ c: SettingsChange) -> String {
        var parts: [String] = []
        if c.clearFirst { parts.append("clear-overrides") }
        if let plan = c.plan { parts.append("plan=\(plan)") }
        for kind in LimitKind.allCases {
            guard let value = c.overrides[kind] else { continue }
            parts.append("\(kind.key)=\(value.map(kind.about.unit.format) ?? "unlimited")")
        }
        if !c.allow.isEmpty { parts.append("allow=\(c.allow.joined(separator: ","))") }
        if !c.deny.isEmpty { parts.append("deny=\(c.deny.joined(separator: ","))") }
        if let role = c.role { parts.append("role=\(role)") }
        if let expires = c.expires { parts.append("expires=\(expires)") }
        return parts.joined(separator: " ")
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
            throw AdminError("nothing to set: give --plan, a limit option, --allow/--deny, --role, --expires, or --clear-overrides")
        }
        if let role = change.role, role != "admin", role != "user" { throw AdminError("--role: admin or user, not \(role)") }
        var expires: String?? = nil
        if let text = change.expires {
            if text == "never" {
                expires = .some(nil)
            } else if let day = CivilDate(parsing: text), day.exists, day.description == text {
                expires = .some(day.description)
            } else {
                throw AdminError("--expires: a day such as 2027-01-31 (the account's last day, UTC) or never")
            }
        }
        let existing = try await stores.userSettings.userSettings().first { $0.user == name }
        var record = existing ?? UserSettingsRecord(user: name)
        if change.clearFirst { record = UserSettingsRecord(user: name, role: record.role, expires: record.expires) }
        if let role = change.role { record.role = role == "admin" ? "admin" : nil }
        if let expires { record.expires = expires }
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
        try await audit("user.set", name, Self.describe(change))
        let book = PlanBook(plans: policy.plans, defaultPlan: policy.defaultPlan)
        book.replace([name: settings])
        return UserSettingsView(
            record: record, effective: book.limits(for: .user(user)), allow: record.allow ?? policy.defaultAllow,
            deny: record.deny ?? policy.defaultDeny)
    }
}
