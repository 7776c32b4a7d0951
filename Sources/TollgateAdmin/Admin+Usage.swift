import RegistryCore
import TollgateLimits

extension Admin {
    /// One user's line of `tollgate usage`.
    public struct UsageLine: Sendable {
        public var user: String
        public var plan: String
        public var limits: PlanLimits
        public var total: UsageRecord
        /// Used in the current window of each windowed limit kind, at its `windowSlot`.
        public var current: [Int64]

        /// Used in the current window of a windowed limit kind.
        public func used(_ kind: LimitKind) -> Int64 { kind.windowSlot.map { current[$0] } ?? 0 }
    }

    /// `tollgate usage`: a line per user (`only`, or every user with usage or settings), from
    /// `since` on. The current windows come from the stored windows (at most a second behind a
    /// running server). A name that is no user and has no usage is an error.
    public func usageReport(only: String?, since: CivilDate, now: Int64) async throws -> [UsageLine] {
        let users = (try? await listUsers().map(\.name)) ?? []
        let lines = try await Self.usageLines(
            policy: policy, stores: stores, users: users, only: only, since: since, now: now)
        // A removed user's history goes with them (`user del`); a name never seen is an error.
        if let only, !users.contains(only), lines.allSatisfy({ $0.total.requests == 0 }) {
            throw AdminError("no user \(only) and no usage recorded for that name")
        }
        return lines
    }

    /// Lines for `knownUsers` and everyone with usage or settings (or `only`).
    public static func usageLines(
        policy: AdminPolicy, stores: Stores, users knownUsers: [String], only: String?, since: CivilDate, now: Int64
    ) async throws -> [UsageLine] {
        let rows = try await stores.usageLedger.usage(since: since.description, user: only)
        let settings = PlanBook.settings(from: try await stores.userSettings.userSettings())
        let windows = try await stores.limitWindows.limitWindows(since: now - WindowPeriod.month.seconds)
        let book = PlanBook(plans: policy.plans, defaultPlan: policy.defaultPlan)
        book.replace(settings)
        var names = Set(rows.map(\.user))
        if let only {
            names = [only]
        } else {
            names.formUnion(knownUsers)
            names.formUnion(settings.keys)
        }
        let none = [Int64](repeating: 0, count: LimitKind.windowed.count)
        var current: [String: [Int64]] = [:]
        for w in windows {
            guard case .user(let name)? = Principal(storageKey: w.subject), let kind = LimitKind(storedWindow: w.kind),
                let slot = kind.windowSlot, kind.period?.start(containing: now) == w.start
            else { continue }
            current[name.value, default: none][slot] = w.used
        }
        let byUser = Dictionary(grouping: rows, by: \.user)
        return names.sorted().map { name in
            let effective = UserName(name).map { book.limits(for: .user($0)) } ?? book.limits(for: .anonymous(AddressGroup(address: nil)))
            let mine = byUser[name] ?? []
            return UsageLine(
                user: name, plan: effective.plan, limits: effective.limits, total: UsageRecord.total(mine, user: name),
                current: current[name] ?? none)
        }
    }
}
