import CoreMetrics
import Logging
import ServiceLifecycle
import Synchronization

/// This node's membership: a heartbeat every `interval` (the store's clock decides who is alive:
/// a node whose last heartbeat is older than `deadAfter` is dead, and its transfer reservations
/// end), and the live nodes as last seen. While the store is unreachable the last list stands.
public final class Membership: Service {
    public let me: NodeRecord
    let store: any NodeStore
    let logger: Logger
    let interval: Duration
    let deadAfter: Double
    private let live: Mutex<[NodeRecord]>
    /// Every node seen live, with when it last was: while the store is unreachable, the nodes
    /// that may still be serving are those seen lately, not just those of the last list (a
    /// heartbeat late under load drops a node from one list).
    private let seen: Mutex<[String: (record: NodeRecord, at: ContinuousClock.Instant)]>
    /// `tollgate_cluster_live_nodes`; `tollgate_cluster_node_info{node}` is 1 (the node's name on
    /// every scrape).
    let liveGauge: Gauge?

    public init(
        me: NodeRecord, store: any NodeStore, logger: Logger, metrics: (any MetricsFactory)? = nil,
        interval: Duration = .seconds(1), deadAfter: Double = 5
    ) {
        self.me = me
        self.store = store
        self.logger = logger
        self.interval = interval
        self.deadAfter = deadAfter
        self.live = Mutex([me])
        self.seen = Mutex([me.name: (me, .now)])
        self.liveGauge = metrics.map { Gauge(label: "tollgate_cluster_live_nodes", factory: $0) }
        if let metrics { Gauge(label: "tollgate_cluster_node_info", dimensions: [("node", me.name)], factory: metrics).record(1) }
    }

    /// The live nodes by name (this one among them).
    public var liveNodes: [NodeRecord] { live.withLock { $0 } }

    /// How many nodes share the cluster's limits (at least this one).
    public var liveCount: Int { max(1, live.withLock { $0.count }) }

    /// The nodes live at some moment of the last `window` (this one included), by name.
    public func recentNodes(within window: Duration = .seconds(15)) -> [NodeRecord] {
        let since = ContinuousClock.now - window
        return seen.withLock { s in
            s[me.name] = (me, .now)
            return s.values.filter { $0.at >= since }.map(\.record).sorted { $0.name < $1.name }
        }
    }

    /// How many nodes may be serving the cluster's limits while the store is unreachable: those
    /// live lately (at least this one). A degraded node divides what is left by this.
    public var recentCount: Int { max(1, recentNodes().count) }

    /// One heartbeat; throws when the store can't be reached.
    public func beat() async throws {
        var nodes = try await store.heartbeat(me, deadAfter: deadAfter)
        if !nodes.contains(where: { $0.name == me.name }) { nodes.append(me) }
        let before = live.withLock { current -> [NodeRecord] in
            defer { current = nodes }
            return current
        }
        let now = ContinuousClock.now
        seen.withLock { s in
            for n in nodes { s[n.name] = (n, now) }
            s = s.filter { now - $0.value.at < .seconds(600) }
        }
        liveGauge?.record(nodes.count)
        if before.map(\.name) != nodes.map(\.name) {
            logger.info("cluster nodes", metadata: ["live": "\(nodes.map(\.name).joined(separator: ","))"])
        }
    }

    public func run() async throws {
        var failing = false
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            guard !Task.isShuttingDownGracefully, !Task.isCancelled else { break }
            do {
                try await beat()
                if failing { logger.notice("heartbeat: database answers again") }
                failing = false
            } catch {
                if !failing { logger.error("heartbeat failed; keeping the last list of nodes", metadata: ["error": "\(error)"]) }
                failing = true
            }
        }
        try? await store.leave(node: me.name)
    }
}
