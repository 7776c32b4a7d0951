import CoreMetrics
import Foundation
import Logging
import TollgateAdmin
import TollgateAuth
import TollgateFileStorage
import TollgatePostgres
import TollgateSQLite

/// The embedded storage engine: blobs on the local file system, users in the htpasswd file
/// (`auth.htpasswd`), keys in `auth.token.key_dir`, everything else in one SQLite database beside
/// the blobs (`<storage.path>/tollgate.sqlite`). The one place that names the adapters.
public enum EmbeddedStorage {
    /// Opens (creating and upgrading as needed) the storage at `config.storage.path`.
    /// `clearTemporary`: empty `tmp/` of a former run (`serve`; never the CLI beside a server).
    public static func open(_ config: TollgateConfiguration, clearTemporary: Bool) throws -> Stores {
        try FileManager.default.createDirectory(atPath: config.storage.path, withIntermediateDirectories: true)
        let blobs = try FileBlobStore(root: config.storage.path, clearTemporary: clearTemporary)
        let database = try SQLiteStore(path: config.storage.path + "/tollgate.sqlite")
        return Stores(
            blobs: blobs, users: HtpasswdUserStore(path: config.auth.htpasswd),
            keys: KeyDirectory(path: config.auth.token.keyDirectory), metadata: database)
    }
}

/// The storage engine a configuration names: the embedded one, or (with `database:`) the
/// cluster's shared database beside this node's cache (`ClusterStorage`).
public struct OpenedStorage: Sendable {
    public let stores: Stores
    /// The shared database in cluster mode.
    public let database: PostgresStore?

    /// Opens the configured engine. `clearTemporary`: empty `tmp/` of a former run (`serve` only).
    public static func open(
        _ config: TollgateConfiguration, clearTemporary: Bool, logger: Logger, metrics: (any MetricsFactory)? = nil
    ) async throws -> OpenedStorage {
        if config.database != nil {
            let (stores, database) = try await ClusterStorage.open(
                config, clearTemporary: clearTemporary, logger: logger, metrics: metrics)
            return OpenedStorage(stores: stores, database: database)
        }
        return OpenedStorage(stores: try EmbeddedStorage.open(config, clearTemporary: clearTemporary), database: nil)
    }

    /// Closes the database's connections.
    public func close() { database?.shutdown() }

    /// The admin's use cases on the configured storage, for the CLI beside servers that may be
    /// running.
    public static func admin(_ config: TollgateConfiguration) async throws -> Admin {
        var logger = Logger(label: "tollgate")
        logger.logLevel = .error
        return Admin(stores: try await open(config, clearTemporary: false, logger: logger).stores, policy: config.adminPolicy)
    }
}

extension TollgateConfiguration {
    /// What the admin's use cases check against.
    public var adminPolicy: AdminPolicy {
        AdminPolicy(
            plans: plans, defaultPlan: defaultPlan, defaultAllow: auth.allow, defaultDeny: auth.deny,
            upstreams: upstreamOrder, maxCacheSize: storage.maxSize, clustered: database != nil)
    }
}
