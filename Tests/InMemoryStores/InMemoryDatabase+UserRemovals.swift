import Foundation
import RegistryCore
import TollgateAdmin
import TollgateLimits

extension InMemoryDatabase: UserRemovalStore {
    /// In one step, under the lock.
    public func eraseUser(_ name: UserName, removed: Date?) async throws {
        let user = name.value
        try locked { state in
            Self.eraseActivity(&state, user: name)
            state.secretTokens = state.secretTokens.filter { $0.value.user != user }
            state.upstreamSecrets = state.upstreamSecrets.filter { $0.key.user != user }
            state.settings[user] = nil
            state.bumpSettingsVersion()
            state.removals.append((state.settingsVersion, UserRemovalRecord(user: name, removed: removed)))
        }
    }

    public func eraseUserActivity(_ user: UserName) async throws {
        try locked { Self.eraseActivity(&$0, user: user) }
    }

    public func userRemovals(after version: Int64) async throws -> [UserRemovalRecord] {
        try locked { state in state.removals.filter { $0.version > version }.map { $0.record } }
    }

    public func userRemovals(since: Date) async throws -> [UserRemovalRecord] {
        try locked { state in
            state.removals.map { $0.record }.filter { record in record.removed.map { $0 >= since } ?? false }
        }
    }

    private static func eraseActivity(_ state: inout State, user name: UserName) {
        let user = name.value
        let audience = Audience.user(name)
        let limitSubject = Principal.user(name).description
        state.links = state.links.filter { $0.key.audience != audience }
        state.tags = state.tags.filter { $0.key.audience != audience }
        state.referrers = state.referrers.filter { $0.key.audience != audience }
        state.usage = state.usage.filter { $0.key.user != user }
        state.tagPulls = state.tagPulls.filter { $0.key.user != user }
        state.limitWindows = state.limitWindows.filter { $0.key.subject != limitSubject }
    }
}
