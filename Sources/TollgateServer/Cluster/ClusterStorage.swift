import CoreMetrics
import Foundation
import ServiceLifecycle
import Logging
import NIOSSL
import PostgresNIO
import RegistryCore
import TollgateAdmin
import TollgateAuth
import TollgateFileStorage
import TollgatePostgres
import TollgateSQLite

/// Cluster mode's storage: what every node must agree on (users, tokens, keys sealed under the
/// cluster secret, settings, upstream secrets, usage, the removal log) in the shared PostgreSQL
/// database; this node's cache (blobs, the content and cache indexes) and its limit windows on
/// its own disk, as in the embedded engine.
public enum ClusterStorage {
    /// Connects to the database (migrating it under an advisory lock) and opens the local cache.
    public static func open(
        _ config: TollgateConfiguration, clearTemporary: Bool, logger: Logger, metrics: (any MetricsFactory)? = nil
    ) async throws -> (Stores, PostgresStore) {
        guard let database = config.database, let cluster = config.cluster else {
            throw ConfigurationError(problems: ["database: not configured"])
        }
        let secret = try TollgateServer.readSecret(cluster.secretFile, key: "cluster.secret_file")
        let shared = try await connect(database, logger: logger, metrics: metrics)
        do {
            try FileManager.default.createDirectory(atPath: config.storage.path, withIntermediateDirectories: true)
            let blobs = try FileBlobStore(root: config.storage.path, clearTemporary: clearTemporary)
            let local = try SQLiteStore(path: config.storage.path + "/tollgate.sqlite")
            let stores = Stores(
                blobs: blobs, contentIndex: local, cacheIndex: local, users: shared,
                keys: SealedKeyStore(base: shared, secret: secret), secretTokens: shared, upstreamSecrets: shared,
                usageLedger: shared, limitWindows: local, userSettings: shared,
                userRemovals: ClusterUserRemovals(shared: shared, local: local), audit: shared,
                evictions: shared)
            return (stores, shared)
        } catch {
            shared.shutdown()
            throw error
        }
    }

    /// The database of `database:`, migrated.
    public static func connect(
        _ d: TollgateConfiguration.Database, logger: Logger, metrics: (any MetricsFactory)? = nil
    ) async throws -> PostgresStore {
        var password: String?
        if let file = d.passwordFile { password = try TollgateServer.readSecret(file, key: "database.password_file") }
        if let variable = d.passwordEnv {
            guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else {
                throw ConfigurationError(problems: ["database.password_env: \(variable) is not set"])
            }
            password = value
        }
        let tls: PostgresClient.Configuration.TLS
        switch d.tls {
        case .disable: tls = .disable
        case .require:
            var t = TLSConfiguration.makeClientConfiguration()
            t.certificateVerification = .none
            tls = .require(t)
        case .verifyFull: tls = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: d.host, port: d.port, username: d.user, password: password, database: d.name, tls: tls)
        configuration.options.connectTimeout = .seconds(3)
        do {
            return try await PostgresStore(configuration: configuration, logger: logger, metrics: metrics)
        } catch {
            throw DatabaseUnavailable(target: "\(d.user)@\(d.host):\(d.port)/\(d.name)", error: error)
        }
    }
}

/// The database could not be reached or migrated, in one line.
public struct DatabaseUnavailable: Error, CustomStringConvertible {
    let target: String
    let error: any Error

    public var description: String {
        if let e = error as? PSQLError {
            if let message = e.serverInfo?[.message] { return "database \(target): \(message)" }
            return "database \(target): \(e.code)"
        }
        return "database \(target): \(error)"
    }
}

/// A removal in cluster mode: the shared rows in the database (and the log every node reads),
/// then this node's cache index; each other node erases its own when it reads the log. A node's
/// sweep (`eraseUserActivity`) is of its own rows only: by the time a node reads the log, other
/// nodes may already be counting the new user of the name in the shared rows.
struct ClusterUserRemovals: UserRemovalStore {
    let shared: PostgresStore
    let local: SQLiteStore

    func eraseUser(_ user: UserName, removed: Date?) async throws {
        try await shared.eraseUser(user, removed: removed)
        try await local.eraseUserActivity(user)
    }

    func eraseUserActivity(_ user: UserName) async throws {
        try await local.eraseUserActivity(user)
    }

    func userRemovals(after version: Int64) async throws -> [UserRemovalRecord] {
        try await shared.userRemovals(after: version)
    }

    func userRemovals(since: Date) async throws -> [UserRemovalRecord] { try await shared.userRemovals(since: since) }
}

extension RegistryError {
    /// What needs the database while it is unreachable: 503 with this message (`/readyz` says the same).
    static let degraded = RegistryError(.unavailable, "degraded: database unreachable", retryAfter: 5)
}

/// Cluster mode: what another process changes in the database (a `tollgate` command, another
/// node) is applied here as soon as it commits (PostgreSQL `NOTIFY`), not only at the next poll.
struct ClusterChangeListener: Service {
    let database: PostgresStore
    let auth: Authenticator
    let settings: UserSettingsWatcher

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            await database.listenForChanges { change in
                switch change {
                case .users: await auth.users.reloadIfChanged(force: true)
                case .settings: await settings.check()
                }
            }
        }
    }
}
