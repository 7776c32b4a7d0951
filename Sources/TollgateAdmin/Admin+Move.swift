import Foundation
import RegistryCore
import TollgateAuth
import TollgateLimits

extension Admin {
    /// What `db import` moved.
    public struct MoveResult: Sendable, Equatable {
        public var users = 0
        public var settings = 0
        public var personalTokens = 0
        public var upstreamLogins = 0
        public var usageRows = 0

        public init() {}
    }

    /// Moves a single node's accounts into these stores (a cluster's database): users with their
    /// password hashes, settings, personal access tokens, upstream logins (opened with the
    /// source's vault key, sealed again with this one) and usage history. All or nothing on the
    /// users: none of them may exist here already (so nothing is counted twice). Refresh tokens,
    /// limit windows and the cache stay behind (clients log in again; windows start afresh; each
    /// node keeps its own cache).
    public func moveAccounts(from source: Admin) async throws -> MoveResult {
        let incoming = try await source.users.listUsers().users.values.sorted { $0.name < $1.name }
        guard !incoming.isEmpty else { throw AdminError("nothing to move: the source has no users") }
        let here = try await users.listUsers().users
        let clashes = incoming.filter { here[$0.name] != nil }.map(\.name)
        guard clashes.isEmpty else {
            throw AdminError("nothing moved: these users exist here already: \(clashes.joined(separator: " "))")
        }
        // Open every upstream secret before writing anything: a source key that can't open one
        // stops the move here.
        var secrets: [(UpstreamSecretRecord, String)] = []
        let sealed = try await source.stores.upstreamSecrets.upstreamSecrets(user: nil)
        let sourceVault = sealed.isEmpty ? nil : try await CredentialVault.loadOrCreate(from: source.stores.keys)
        for record in sealed {
            guard let sourceVault else { break }
            do {
                secrets.append((record, try sourceVault.open(record.sealedPassword, user: record.user, upstream: record.upstream)))
            } catch {
                throw AdminError("nothing moved: the upstream login of \(record.user) for \(record.upstream) can't be opened with the source's key")
            }
        }
        let vault = try await CredentialVault.loadOrCreate(from: stores.keys)
        var result = MoveResult()
        for user in incoming {
            guard let name = UserName(user.name) else { continue }
            try await stores.userRemovals.eraseUser(name, removed: nil)
            if try await users.addUser(user) { result.users += 1 }
            for token in try await source.stores.secretTokens.secretTokens(user: user.name, kind: .personal) {
                try await stores.secretTokens.insertSecretToken(token, keepNewest: nil)
                result.personalTokens += 1
            }
        }
        for settings in try await source.stores.userSettings.userSettings() where here[settings.user] == nil {
            try await stores.userSettings.putUserSettings(settings)
            result.settings += 1
        }
        for (record, password) in secrets {
            var moved = record
            moved.sealedPassword = try vault.seal(password, user: record.user, upstream: record.upstream)
            try await stores.upstreamSecrets.putUpstreamSecret(moved)
            result.upstreamLogins += 1
        }
        let usage = try await source.stores.usageLedger.usage(since: "0000-01-01", user: nil)
        try await stores.usageLedger.addUsage(usage)
        result.usageRows = usage.count
        for user in incoming { try await audit("user.move", user.name, "moved in from a single node") }
        return result
    }
}
