import Foundation
import RegistryCore

/// A user's removal, as the removal log keeps it.
public struct UserRemovalRecord: Sendable, Equatable {
    public var user: UserName
    /// When the user was removed (their bearer tokens end then); nil when a new user of the name
    /// was added and only a former user's leftovers were cleared.
    public var removed: Date?

    public init(user: UserName, removed: Date?) {
        self.user = user
        self.removed = removed
    }
}

/// What a user leaves in every domain's stores, removed in one step (admin): the cascade of
/// `user del` and of `user add` (a new user starts from nothing). Adapters do it atomically where
/// their engine can (SQLite: one transaction).
public protocol UserRemovalStore: Sendable {
    /// Everything stored for `user`: their audience's links, tags and referrers pages (so their
    /// catalog), personal and refresh tokens, upstream secrets, settings, usage history and limit
    /// windows. Logs the removal and bumps the settings version, so a running server forgets what
    /// it holds of the user in memory.
    func eraseUser(_ user: UserName, removed: Date?) async throws
    /// What a user's requests write (links, tags and referrers of their audience, usage, limit
    /// windows): a running server's sweep after `eraseUser`, for rows written by requests and
    /// flushes that were under way meanwhile.
    func eraseUserActivity(_ user: UserName) async throws
    /// Removals logged after settings version `version`, oldest first.
    func userRemovals(after version: Int64) async throws -> [UserRemovalRecord]
    /// Removals (with a time) since `since`, oldest first.
    func userRemovals(since: Date) async throws -> [UserRemovalRecord]
}
