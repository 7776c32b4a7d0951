import Foundation

/// An admin's order to evict part of the cache (`tollgate cache rm`, the console's cache
/// browser), as the eviction log keeps it: every cache applies each order once, in order.
public struct EvictionOrder: Sendable, Equatable {
    public var id: Int64
    /// `UPSTREAM`, `UPSTREAM/REPO` or `UPSTREAM/REPO:TAG` (`CacheScope`).
    public var scope: String
    /// For a tag, in a cluster: what the tag named on the node that held it (`sha256:…`), so
    /// that nodes holding its layers without the tag unlink them too; empty otherwise.
    public var digests: [String]
    public var actor: String
    public var at: Date

    public init(id: Int64, scope: String, digests: [String] = [], actor: String, at: Date) {
        self.id = id
        self.scope = scope
        self.digests = digests
        self.actor = actor
        self.at = at
    }
}

/// The eviction log, where the caches find the orders to apply: beside the settings in the
/// embedded database (one server, and the CLI beside it), in the shared database in a cluster
/// (every node's own cache). Appending bumps the settings version, so running servers look at
/// once; ids only grow, and orders are appended one at a time (a reader that has seen id N has
/// seen every order up to N).
public protocol CacheEvictionStore: Sendable {
    /// Logs an order; returns its id.
    func appendEviction(scope: String, digests: [String], actor: String, at: Date) async throws -> Int64
    /// Orders after `id`, oldest first.
    func evictions(after id: Int64) async throws -> [EvictionOrder]
    /// The newest order's id (0 when there is none).
    func latestEviction() async throws -> Int64
}
