import Logging
import CoreMetrics
import ServiceLifecycle
import TollgateCluster
import TollgateLimits
import TollgatePostgres

/// This node's part in a cluster: its membership, the shared limiter and the forwarding to the
/// other nodes, and the services that keep them (heartbeat, limiter upkeep, the forwarding pool).
struct ClusterNode {
    let limiter: SharedLimiter
    let forwarding: ClusterForwarding
    let services: [any Service]

    /// Joins the cluster: ends the transfer reservations a former run of this node left, beats
    /// once (so the others count it before it serves), and lets the limiter ask the others what
    /// they know while the database is away.
    static func join(
        _ config: TollgateConfiguration, _ cluster: TollgateConfiguration.Cluster, database: PostgresStore,
        plans: PlanBook, logger: Logger, metrics: any MetricsFactory
    ) async throws -> ClusterNode {
        let secret = try TollgateServer.readSecret(cluster.secretFile, key: "cluster.secret_file")
        _ = try await database.releaseTransfers(node: cluster.node)
        let members = Membership(
            me: NodeRecord(name: cluster.node, url: config.advertiseURL), store: database, logger: logger, metrics: metrics)
        try await members.beat()
        let limiter = SharedLimiter(
            plans: plans, store: database, node: cluster.node, liveNodes: { members.recentCount }, logger: logger)
        let forwarding = ClusterForwarding(membership: members, secret: secret, logger: logger, metrics: metrics)
        limiter.setPeers { subject in await forwarding.peerCounts(subject) }
        return ClusterNode(
            limiter: limiter, forwarding: forwarding,
            services: [members, limiter, ForwardingClientService(forwarding: forwarding)])
    }
}

/// Closes the connections to the other nodes when the server shuts down.
struct ForwardingClientService: Service {
    let forwarding: ClusterForwarding

    func run() async throws {
        try? await gracefulShutdown()
        await forwarding.shutdown()
    }
}
