import Foundation
import TollgateAuth

extension InMemoryDatabase: SecretTokenStore {
    public func insertSecretToken(_ r: SecretTokenRecord, keepNewest: Int?) async throws {
        try locked { state in
            guard state.secretTokens[r.id] == nil else {
                throw InMemoryStoreError(description: "UNIQUE constraint failed: credentials.id (\(r.id))")
            }
            state.secretTokens[r.id] = r
            guard let keepNewest else { return }
            let mine = { (t: SecretTokenRecord) in t.user == r.user && t.kind == r.kind }
            // Expired ones go first (by the new token's creation time), then the oldest.
            for t in state.secretTokens.values where mine(t) {
                if let expires = t.expires, expires < r.created { state.secretTokens[t.id] = nil }
            }
            let newestFirst = state.secretTokens.values.filter(mine).sorted {
                $0.created != $1.created ? $0.created > $1.created : String.sqliteOrder($0.id, $1.id)
            }
            for t in newestFirst.dropFirst(max(keepNewest, 0)) { Self.deleteSecretToken(&state, id: t.id) }
        }
    }

    public func secretToken(id: String) async throws -> SecretTokenRecord? {
        try locked { $0.secretTokens[id] }
    }

    public func secretTokens(user: String, kind: SecretTokenRecord.Kind) async throws -> [SecretTokenRecord] {
        try locked { state in
            state.secretTokens.values.filter { $0.user == user && $0.kind == kind }.sorted {
                $0.created != $1.created ? $0.created < $1.created : String.sqliteOrder($0.id, $1.id)
            }
        }
    }

    public func deleteSecretToken(id: String) async throws -> Bool {
        try locked { Self.deleteSecretToken(&$0, id: id) }
    }

    /// The credential and what was obtained with it.
    @discardableResult
    static func deleteSecretToken(_ state: inout State, id: String) -> Bool {
        let found = state.secretTokens.removeValue(forKey: id) != nil
        state.secretTokens = state.secretTokens.filter { $0.value.origin != id }
        return found
    }

    public func touchSecretToken(id: String, at: Date) async throws {
        try locked { $0.secretTokens[id]?.lastUsed = at }
    }

    public func deleteSecretTokens(user: String, kind: SecretTokenRecord.Kind?) async throws -> Int {
        try locked { state in
            if let kind {
                let ids = state.secretTokens.values.filter { $0.user == user && $0.kind == kind }.map(\.id)
                return ids.filter { Self.deleteSecretToken(&state, id: $0) }.count
            }
            let before = state.secretTokens.count
            state.secretTokens = state.secretTokens.filter { $0.value.user != user }
            return before - state.secretTokens.count
        }
    }
}
