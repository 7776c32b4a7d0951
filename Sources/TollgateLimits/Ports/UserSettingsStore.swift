import Foundation

/// A user's plan, per-limit overrides and access policy. An override of `nil` means "unlimited";
/// a policy list of `nil` means the configured default.
public struct UserSettingsRecord: Sendable, Equatable {
    public var user: String
    public var plan: String?
    /// Limit name (`pulls_per_6h`, …) → value, `nil` = unlimited.
    public var overrides: [String: Int64?]
    /// Globs over `<upstream>/<repository>`.
    public var allow: [String]?
    public var deny: [String]?

    public init(
        user: String, plan: String? = nil, overrides: [String: Int64?] = [:], allow: [String]? = nil,
        deny: [String]? = nil
    ) {
        self.user = user
        self.plan = plan
        self.overrides = overrides
        self.allow = allow
        self.deny = deny
    }

    public var isEmpty: Bool { plan == nil && overrides.isEmpty && allow == nil && deny == nil }
}

/// Per-user settings the admin changes while servers run (limits): plan, limit overrides,
/// access policy.
public protocol UserSettingsStore: Sendable {
    func userSettings() async throws -> [UserSettingsRecord]
    /// Stores (or, when empty, removes) a user's settings and bumps the settings version.
    func putUserSettings(_ settings: UserSettingsRecord) async throws
    /// Grows with every change a running server must reload, from any process: user settings,
    /// users' upstream secrets (`UpstreamSecretStore`) and user removals (`UserRemovalStore`).
    /// A server polls it.
    func settingsVersion() async throws -> Int64
}
