import Foundation
import RegistryCore
import TollgateAuth
import TollgateLimits

extension Admin {
    /// One line of the admin's user list.
    public struct UserSummary: Sendable, Equatable {
        public var name: String
        public var disabled: Bool
        public var plan: String
        public var admin: Bool
        /// The account's last day (`YYYY-MM-DD`), nil: no end.
        public var expires: String?
        public var pullsToday: Int64
        public var bytesThisMonth: Int64
        /// The last UTC day with a request this month (nil: none this month).
        public var lastSeen: String?
    }

    /// Every user with their plan, role, end day and this month's use, by name. One read of each
    /// store, whatever the number of users.
    public func userDirectory(now: Int64) async throws -> [UserSummary] {
        let today = CivilDate(unixSeconds: now)
        let monthStart = CivilDate(year: today.year, month: today.month, day: 1)
        let users = try await listUsers()
        let settings = try await stores.userSettings.userSettings()
        let byUser = Dictionary(settings.map { ($0.user, $0) }, uniquingKeysWith: { a, _ in a })
        let book = PlanBook(plans: policy.plans, defaultPlan: policy.defaultPlan)
        book.replace(PlanBook.settings(from: settings))
        var pulls: [String: Int64] = [:], bytes: [String: Int64] = [:], seen: [String: String] = [:]
        for t in try await stores.usageLedger.usageTotals(since: monthStart.description, today: today.description) {
            pulls[t.user] = t.pullsToday
            bytes[t.user] = t.bytesSent
            seen[t.user] = t.lastSeen
        }
        let defaultPlan = policy.defaultPlan  // the configuration checked that it is a plan
        return users.map { u in
            let s = byUser[u.name]
            // Only a user with settings can be on another plan than the default.
            let plan = s != nil ? (UserName(u.name).map { book.limits(for: .user($0)).plan } ?? defaultPlan) : defaultPlan
            return UserSummary(
                name: u.name, disabled: u.disabled, plan: plan, admin: s?.role == "admin", expires: s?.expires,
                pullsToday: pulls[u.name] ?? 0, bytesThisMonth: bytes[u.name] ?? 0, lastSeen: seen[u.name])
        }
    }

    /// Revokes all of a user's personal tokens and stored logins (refresh tokens); returns how many.
    public func revokeAllTokens(user: String) async throws -> Int {
        try await requireUser(user)
        let personal = try await stores.secretTokens.deleteSecretTokens(user: user, kind: .personal)
        let logins = try await stores.secretTokens.deleteSecretTokens(user: user, kind: .refresh)
        try await audit("token.revoke-all", user, "\(personal) token(s), \(logins) login(s)")
        return personal + logins
    }
}
