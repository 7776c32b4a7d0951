import Foundation
import NIOCore
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import HummingbirdTLS
import Logging
import RegistryCore
import ServiceLifecycle
import TollgateProxy
import TollgateUpstream
import TollgateAuth
import TollgateLimits
import TollgateAdmin
import TollgateFileStorage
import TollgateWeb
import Prometheus

/// Builds and runs the Tollgate HTTP application from a configuration.
public enum TollgateServer {
    /// Everything a running server is made of, so tests can build it without serving.
    public struct Parts {
        public let router: Router<TollgateContext>
        public let cache: PullThroughCache
        public let clients: [RegistryClient]
        public let limiter: any Limiter
        public let ledger: UsageLedger
        public let metrics: PrometheusCollectorRegistry
        /// Flushes usage; run it alongside the server.
        public let limitsService: LimitsService
        /// Reloads user settings (plans, policies, own upstream credentials) the CLI changes.
        let settingsWatcher: UserSettingsWatcher
        /// Access times, eviction to `storage.max_size`, start-up checks.
        public let janitor: CacheJanitor
        let accessLog: AccessLog?
        /// Running transfers, for the first step of a graceful shutdown.
        let drain: TransferDrain
        /// The TLS certificate and key, when `tls:` is configured.
        let certificates: TLSCertificates?
        /// Held while the parts live.
        let storageLock: StorageLock
        /// Cluster mode: the heartbeat, the shared limiter's upkeep, the forwarding pool, the
        /// change listener.
        let clusterServices: [any Service]
        /// The stores' engine (closed after the server stops).
        public let storage: OpenedStorage
    }

    public static func makeParts(_ config: TollgateConfiguration, logger: Logger) async throws -> Parts {
        let logger = nodeLogger(logger, config)
        let lock = try StorageLock(root: config.storage.path)  // before anything touches the storage
        let certificates = try config.tls.map { try TLSCertificates(certificate: $0.certificate, key: $0.key) }
        let metrics = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: metrics)
        let storage = try await OpenedStorage.open(config, clearTemporary: true, logger: logger, metrics: factory)
        let stores = storage.stores
        let cache = PullThroughCache(
            blobs: stores.blobs, metadata: stores.contentIndex, logger: logger, memoryBudget: Int(config.storage.memoryCache),
            maxBlobSize: config.storage.maxBlobSize, metrics: factory)
        let janitor = CacheJanitor(
            blobs: stores.blobs, index: stores.cacheIndex, content: stores.contentIndex, maxSize: config.storage.maxSize,
            logger: logger, memory: cache, disk: cache.disk, metrics: factory, clock: cache.clock)
        // Everything that can fail comes before the upstream clients exist: a client must be shut
        // down before it is freed, so none is created until nothing else can throw.
        let configurations = try config.upstreamOrder.compactMap { name -> (UpstreamConfiguration, Duration)? in
            guard let u = config.upstreams[name], let upstream = UpstreamName(name) else { return nil }
            return (
                UpstreamConfiguration(
                    name: upstream, url: u.url, credentials: try sharedCredentials(name, u),
                    connectTimeout: u.connectTimeout.seconds, firstByteTimeout: u.firstByteTimeout.seconds,
                    idleTimeout: u.idleTimeout.seconds), u.manifestTTL
            )
        }
        let policies = PolicyBook(
            default: AccessPolicy(allow: config.auth.allow, deny: config.auth.deny), hideDenied: config.auth.hideDenied)
        let authenticator = try await makeAuthenticator(config, stores: stores, policies: policies, logger: logger)
        let accessLog = config.log.access ? AccessLog(json: config.log.format == .json, node: config.cluster?.node) : nil
        let plans = PlanBook(plans: config.plans, defaultPlan: config.defaultPlan)
        let localLimiter = RateLimiter(plans: plans)
        let ledger = UsageLedger(metrics: factory)
        var node: ClusterNode?
        if let cluster = config.cluster, let database = storage.database {
            node = try await ClusterNode.join(
                config, cluster, database: database, plans: plans, logger: logger, metrics: factory)
        } else {
            try await LimitsService.load(limiter: localLimiter, store: stores.limitWindows, logger: logger)
        }
        let limiter: any Limiter = node?.limiter ?? localLimiter
        var clusterServices = node?.services ?? []
        let forwarding = node?.forwarding
        let limitsService = LimitsService(
            limiter: localLimiter, ledger: ledger, usageStore: stores.usageLedger, windowStore: stores.limitWindows,
            logger: logger)
        let credentials = UpstreamCredentialBook()
        let vault = try await CredentialVault.loadOrCreate(from: stores.keys)
        let version = try await UserSettingsWatcher.load(
            stores: stores, plans: limiter.plans, policies: policies, accounts: authenticator.accounts,
            credentials: credentials, vault: vault, logger: logger)
        let admin = Admin(stores: stores, policy: config.adminPolicy)
        let watcher = UserSettingsWatcher(
            stores: stores, plans: limiter.plans, policies: policies, credentials: credentials, vault: vault,
            cache: cache, evictions: admin.evictions(janitor), limiter: limiter, ledger: ledger, auth: authenticator,
            logger: logger, loadedVersion: version)
        if let database = storage.database {
            clusterServices.append(ClusterChangeListener(database: database, auth: authenticator, settings: watcher))
        }
        // Bearer tokens outlive a restart: those of users removed within their lifetime stay void.
        let tokenLifetime = Double(config.auth.token.ttl.components.seconds) + 120
        for removal in try await stores.userRemovals.userRemovals(since: Date().addingTimeInterval(-tokenLifetime)) {
            if let removed = removal.removed { authenticator.endSessions(of: removal.user, removed: removed) }
        }
        let upstreamRouter = UpstreamRouter(config)
        var upstreams: [UpstreamName: Upstream] = [:]
        var clients: [RegistryClient] = []
        for (configuration, ttl) in configurations {
            let client = RegistryClient(configuration: configuration, logger: logger, metrics: factory)
            clients.append(client)
            upstreams[configuration.name] = Upstream(client: client, manifestTTL: ttl)
        }
        let loginResults = UpstreamLoginResults(store: stores.upstreamSecrets, logger: logger)
        for client in clients {
            let upstream = client.name
            client.observeUserLogins { user, accepted in loginResults.note(user, upstream, accepted: accepted) }
        }
        let router = Router(context: TollgateContext.self)
        if !config.trustedProxies.isEmpty {
            router.add(middleware: ClientAddressMiddleware(trusted: TrustedProxies(config.trustedProxies)))
        }
        let drain = TransferDrain()
        router.add(middleware: AccessLogMiddleware(log: accessLog, metrics: HTTPMetrics(registry: metrics), drain: drain))
        router.add(middleware: RegistryErrorMiddleware())
        router.add(
            middleware: PublicOriginMiddleware(
                scheme: config.tls == nil ? "http" : "https", trusted: TrustedProxies(config.trustedProxies)))
        router.add(middleware: DrainMiddleware(drain: drain))
        router.add(
            middleware: AuthMiddleware(
                auth: authenticator, publicURL: config.publicURLWithoutSlash, service: config.auth.token.service,
                anonymousWithoutToken: config.auth.anonymousWithoutToken, forwarding: forwarding?.signer))
        if config.limitsEnabled { router.add(middleware: LimitMiddleware(limiter: limiter, ledger: ledger)) }
        router.get("/healthz") { _, _ in "ok\n" }
        if let node { router.get("/_cluster/limits", use: node.forwarding.limitsRoute(node.limiter)) }
        router.get("/readyz") { _, _ in try await readiness(stores, cluster: config.cluster != nil) }
        if config.limitsEnabled { UsageController(limiter: limiter, ledger: ledger, store: stores.usageLedger).addRoutes(to: router) }
        if config.metrics.enabled {
            MetricsController(registry: metrics, allow: config.metrics.allow.compactMap(AddressRange.init))
                .addRoutes(to: router)
        }
        TokenController(
            auth: authenticator, refreshTTL: config.auth.token.refreshTTL, router: upstreamRouter,
            limiter: config.limitsEnabled ? limiter : nil, ledger: config.limitsEnabled ? ledger : nil
        ).addRoutes(to: router)
        RegistryController(
            cache: cache, upstreams: upstreams, router: upstreamRouter, policies: policies, credentials: credentials,
            cluster: forwarding
        ).addRoutes(to: router)
        if config.web.enabled {
            Console<TollgateContext>(
                auth: authenticator,
                sessions: WebSessions(secrets: authenticator.secrets) { await authenticator.isActive($0) },
                admin: admin, limiter: config.limitsEnabled ? limiter : nil, ledger: config.limitsEnabled ? ledger : nil,
                upstreamHealth: clients.map { ($0.name.value, config.upstreams[$0.name.value]?.url ?? "", $0.health) },
                publicURL: config.publicURLWithoutSlash, prefix: config.web.pathPrefix,
                clustered: config.cluster != nil, evicted: { await watcher.check() }, logger: logger
            ).addRoutes(to: router)
        }
        return Parts(
            router: router, cache: cache, clients: clients, limiter: limiter, ledger: ledger, metrics: metrics,
            limitsService: limitsService, settingsWatcher: watcher,
            janitor: janitor,
            accessLog: accessLog, drain: drain, certificates: certificates, storageLock: lock,
            clusterServices: clusterServices, storage: storage)
    }

    /// In cluster mode every log line names the node.
    static func nodeLogger(_ logger: Logger, _ config: TollgateConfiguration) -> Logger {
        var logger = logger
        if let cluster = config.cluster { logger[metadataKey: "node"] = "\(cluster.node)" }
        return logger
    }

    /// Serves until SIGTERM/SIGINT, then finishes running downloads and closes upstream connections.
    public static func run(_ config: TollgateConfiguration, logger: Logger) async throws {
        let logger = nodeLogger(logger, config)
        let parts = try await makeParts(config, logger: logger)
        // Shut down in reverse order after the HTTP server: the last usage flush comes last.
        var services: [any Service] = [
            parts.limitsService, parts.settingsWatcher, parts.janitor, parts.cache,
            UpstreamClientsService(clients: parts.clients),
        ] + parts.clusterServices
        if let log = parts.accessLog { services.append(AccessLogService(log: log)) }
        if let certificates = parts.certificates {
            services.append(TLSReloadService(certificates: certificates, logger: logger))
        }
        let server = try serverBuilder(config, certificates: parts.certificates)
        let app = Application(
            router: parts.router, server: server,
            configuration: .init(
                address: .hostname(config.listenHost, port: config.listenPort), serverName: "Tollgate"),
            services: services,
            logger: logger)
        logger.info(
            "tollgate serving",
            metadata: [
                "listen": "\(config.listenDescription)", "storage": "\(config.storage.path)",
                "upstreams": "\(config.upstreamOrder.joined(separator: ","))",
                "default_upstream": "\(config.defaultUpstream)",
            ])
        if config.publicURL == nil {
            logger.info(
                "public_url is not set: the token realm follows each request's Host header (X-Forwarded-Host/Proto or Forwarded from trusted_proxies)"
            )
        }
        // SIGTERM/SIGINT: stop accepting, let transfers finish for up to `shutdown_timeout`, then
        // cancel what is left (clients see their connection end early), then the services stop in
        // reverse order: downloads, cache janitor, settings, and the last usage flush.
        // The drain stops first (services stop in reverse order): new requests get 503 while
        // running transfers finish; then the HTTP server quiesces.
        var group = ServiceGroupConfiguration(
            services: [app, TransferDrain.Service(drain: parts.drain, timeout: config.shutdownTimeout)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = config.shutdownTimeout + .seconds(2)
        group.maximumCancellationDuration = .seconds(10)
        defer { parts.accessLog?.flush() }  // lines of transfers cut at the end
        try await ServiceGroup(configuration: group).run()
        // Transfers cut by the shutdown timeout count their bytes as they unwind, possibly after
        // the limits service's last flush: one more.
        await parts.limitsService.flush()
        parts.storage.close()
    }

    /// HTTP/1.1, TLS or TLS with HTTP/2, each connection behind the `ConnectionGuardHandler` (caps)
    /// and the `ConnectionTimeoutHandler` (header, body and idle timeouts).
    static func serverBuilder(_ config: TollgateConfiguration, certificates: TLSCertificates?) throws
        -> HTTPServerBuilder
    {
        let s = config.server
        let counter = ConnectionCounter(
            maxTotal: s.maxConnections ?? ConnectionCounter.defaultTotal(), maxPerClient: s.maxConnectionsPerClient)
        let timeouts = ConnectionTimeoutHandler.Timeouts(
            header: TimeAmount(s.headerTimeout), idle: TimeAmount(s.idleTimeout), body: TimeAmount(s.bodyTimeout))
        let http1 = HTTP1Channel.Configuration(additionalChannelHandlers: [ConnectionTimeoutHandler(timeouts: timeouts)])
        guard let tls = config.tls, let certificates else {
            return HTTPServerBuilder { responder in
                GuardedChannel(
                    base: HTTP1Channel(responder: responder, configuration: http1), counter: counter, plaintext: true)
            }
        }
        if tls.http2 {
            let tlsConfiguration = try certificates.configuration(alpn: ["h2", "http/1.1"])
            let http2 = HTTP2ChannelConfiguration(idleTimeout: s.idleTimeout, streamConfiguration: http1)
            return HTTPServerBuilder { responder in
                GuardedChannel(
                    base: try HTTP2UpgradeChannel(
                        tlsConfiguration: tlsConfiguration, configuration: http2, responder: responder),
                    counter: counter, plaintext: false)
            }
        }
        let tlsConfiguration = try certificates.configuration(alpn: ["http/1.1"])
        return HTTPServerBuilder { responder in
            GuardedChannel(
                base: try TLSChannel(
                    HTTP1Channel(responder: responder, configuration: http1), tlsConfiguration: tlsConfiguration),
                counter: counter, plaintext: false)
        }
    }

    static func makeAuthenticator(
        _ config: TollgateConfiguration, stores: Stores, policies: PolicyBook, logger: Logger
    ) async throws -> Authenticator {
        let a = config.auth
        let algorithm = a.token.algorithm
        let keys = try await TokenKeys.loadOrCreate(from: stores.keys, algorithm: algorithm)
        return Authenticator(
            users: await UserDirectory(store: stores.users, logger: logger),
            tokens: try await TokenService(keys: keys, issuer: a.token.issuer, service: a.token.service, ttl: a.token.ttl),
            secrets: SecretTokens(store: stores.secretTokens),
            throttle: LoginThrottle(failures: a.lockoutFailures, window: a.lockoutWindow),
            anonymousAllowed: a.anonymous, policies: policies, logger: logger)
    }

    /// `/readyz`: the storage takes a write and the database answers; else 503.
    static func readiness(_ stores: Stores, cluster: Bool) async throws -> Response {
        var problems: [String] = []
        do {
            let probe = try await stores.blobs.writer()
            do {
                try await probe.append(ByteBuffer(string: "ready"))
            } catch {
                await probe.abort()
                throw error
            }
            await probe.abort()
        } catch {
            problems.append("storage not writable: \(error)")
        }
        do {
            _ = try await stores.userSettings.settingsVersion()
        } catch {
            problems.append(cluster ? "degraded: database unreachable" : "database: \(error)")
        }
        let body = problems.isEmpty ? "ready\n" : problems.joined(separator: "\n") + "\n"
        return Response(
            status: problems.isEmpty ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    /// The operator's credentials for an upstream: from `password_file` or `password_env`.
    static func sharedCredentials(_ name: String, _ u: TollgateConfiguration.UpstreamSettings) throws
        -> StaticCredentials?
    {
        guard let user = u.username else { return nil }
        if let file = u.passwordFile {
            return .init(username: user, password: try readSecret(file, key: "upstreams.\(name).password_file"))
        }
        if let variable = u.passwordEnv {
            guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else {
                throw ConfigurationError(problems: ["upstreams.\(name).password_env: \(variable) is not set"])
            }
            return .init(username: user, password: value)
        }
        return nil
    }

    /// Reads a secret file: its first line, without the line break.
    static func readSecret(_ path: String, key: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError(problems: ["\(key): cannot read \(path)"])
        }
        let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let secret = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        guard !secret.isEmpty else { throw ConfigurationError(problems: ["\(key): \(path) is empty"]) }
        return secret
    }
}

/// Closes the upstream connection pools when the server shuts down.
struct UpstreamClientsService: Service {
    let clients: [RegistryClient]

    func run() async throws {
        try? await gracefulShutdown()
        for client in clients { try? await client.shutdown() }
    }
}
