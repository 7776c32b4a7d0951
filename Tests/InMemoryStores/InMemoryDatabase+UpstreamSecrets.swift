import TollgateAuth

extension InMemoryDatabase: UpstreamSecretStore {
    public func putUpstreamSecret(_ r: UpstreamSecretRecord) async throws {
        try locked { state in
            var r = r
            r.lastResult = nil
            state.upstreamSecrets[UpstreamSecretKey(user: r.user, upstream: r.upstream)] = r
            state.bumpSettingsVersion()
        }
    }

    public func noteUpstreamSecretResult(
        user: String, upstream: String, _ result: UpstreamSecretRecord.LoginResult
    ) async throws {
        try locked { state in state.upstreamSecrets[UpstreamSecretKey(user: user, upstream: upstream)]?.lastResult = result }
    }

    public func deleteUpstreamSecret(user: String, upstream: String) async throws -> Bool {
        try locked { state in
            let found = state.upstreamSecrets.removeValue(forKey: UpstreamSecretKey(user: user, upstream: upstream)) != nil
            state.bumpSettingsVersion()
            return found
        }
    }

    public func upstreamSecrets(user: String?) async throws -> [UpstreamSecretRecord] {
        try locked { state in
            state.upstreamSecrets.values.filter { user == nil || $0.user == user }.sorted {
                sqliteOrder([$0.user, $0.upstream], [$1.user, $1.upstream])
            }
        }
    }
}
