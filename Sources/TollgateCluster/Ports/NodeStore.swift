/// A node of the cluster, as the membership table has it.
public struct NodeRecord: Sendable, Equatable {
    public var name: String
    /// Where other nodes reach it.
    public var url: String

    public init(name: String, url: String) {
        self.name = name
        self.url = url
    }
}

/// Cluster membership: who is alive (the proxy chooses owners among them; limits are shared among
/// them while the database is unreachable).
public protocol NodeStore: Sendable {
    /// Marks `node` alive now (the store's clock), ends the transfer reservations of nodes whose
    /// heartbeat is older than `deadAfter` seconds, and returns the live nodes by name.
    func heartbeat(_ node: NodeRecord, deadAfter: Double) async throws -> [NodeRecord]
    /// Leaves the cluster (a clean shutdown): others stop choosing the node at once.
    func leave(node: String) async throws
}
