import Foundation
import TollgateAdmin

extension InMemoryDatabase: CacheEvictionStore {
    public func appendEviction(scope: String, digests: [String], actor: String, at: Date) async throws -> Int64 {
        try locked { state in
            let id = (state.evictions.last?.id ?? 0) + 1
            state.evictions.append(EvictionOrder(id: id, scope: scope, digests: digests, actor: actor, at: at))
            state.bumpSettingsVersion()
            return id
        }
    }

    public func evictions(after id: Int64) async throws -> [EvictionOrder] {
        try locked { state in state.evictions.filter { $0.id > id } }
    }

    public func latestEviction() async throws -> Int64 { try locked { $0.evictions.last?.id ?? 0 } }
}
