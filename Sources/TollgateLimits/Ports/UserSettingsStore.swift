import Foundation

/// A user's plan, per-limit overrides, access policy, role and account end. An override of `nil`
/// means "unlimited"; a policy list of `nil` means the configured default.
public struct UserSettingsRecord: Sendable, Equatable {
    public var user: String
    public var plan: String?
    /// Limit name (`pulls_per_6h`, …) → value, `nil` = unlimited.
    public var overrides: [String: Int64?]
    /// Globs over `<upstream>/<repository>`.
    public var allow: [String]?
    public var deny: [String]?
    /// `admin` (the web console's admin pages); nil: an ordinary user.
    public var role: String?
    /// The last day (`YYYY-MM-DD`, UTC) the account works; nil: no end.
    public var expires: String?

    public init(
        user: String, plan: String? = nil, overrides: [String: Int64?] = [:], allow: [String]? = nil,
        deny: [String]? = nil, role: String? = nil, expires: String? = nil
    ) {
        self.user = user
        self.plan = plan
        self.overrides = overrides
        self.allow = allow
        self.deny = deny
        self.role = role
        self.expires = expires
    }

    public var isEmpty: Bool {
        plan == nil && overrides.isEmpty && allow == nil && deny == nil && role == nil && expires == nil
    }
}

/// Per-user settings the admin changes while servers run: plan, limit overrides, access policy,
/// role, account end.
public protocol UserSettingsStore: Sendable {
    func userSettings() async throws -> [UserSettingsRecord]
    /// Stores (or, when empty, removes) a user's settings and bumps the settings version.
    func putUserSettings(_ settings: UserSettingsRecord) async throws
    /// Grows with every change a running server must reload, from any process: user settings,
    /// users' upstream secrets (`UpstreamSecretStore`) and user removals (`UserRemovalStore`).
    /// A server polls it.
    func settingsVersion() async throws -> Int64
}
