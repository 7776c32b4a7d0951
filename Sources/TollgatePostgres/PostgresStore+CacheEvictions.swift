import Foundation
import PostgresNIO
import TollgateAdmin

/// The cluster's eviction log: each node applies the orders to its own cache.
extension PostgresStore: CacheEvictionStore {
    /// The table lock makes ids commit in order: a node that has read id N never sees an
    /// order with a smaller id appear later.
    public func appendEviction(scope: String, digests: [String], actor: String, at: Date) async throws -> Int64 {
        let digests = digests.joined(separator: " ")
        return try await client.withTransaction(logger: logger) { [logger] c in
            try await c.query("LOCK TABLE cache_evictions IN EXCLUSIVE MODE", logger: logger)
            var id: Int64 = 0
            for try await v in try await c.query(
                """
                INSERT INTO cache_evictions (scope, digests, actor, at)
                VALUES (\(scope), \(digests), \(actor), \(at.timeIntervalSince1970)) RETURNING id
                """,
                logger: logger
            ).decode(Int64.self) { id = v }
            try await Self.bumpSettingsVersion(c, logger)
            return id
        }
    }

    public func evictions(after id: Int64) async throws -> [EvictionOrder] {
        var result: [EvictionOrder] = []
        for try await (id, scope, digests, actor, at) in try await client.query(
            "SELECT id, scope, digests, actor, at FROM cache_evictions WHERE id > \(id) ORDER BY id", logger: logger
        ).decode((Int64, String, String, String, Double).self) {
            result.append(
                EvictionOrder(
                    id: id, scope: scope, digests: digests.split(separator: " ").map(String.init), actor: actor,
                    at: Date(timeIntervalSince1970: at)))
        }
        return result
    }

    public func latestEviction() async throws -> Int64 {
        var id: Int64 = 0
        for try await v in try await client.query("SELECT coalesce(max(id), 0) FROM cache_evictions", logger: logger)
            .decode(Int64.self) { id = v }
        return id
    }
}
