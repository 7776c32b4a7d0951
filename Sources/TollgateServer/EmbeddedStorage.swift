import Foundation
import TollgateAdmin
import TollgateAuth
import TollgateFileStorage
import TollgateSQLite

/// The embedded storage engine: blobs on the local file system, everything else in one SQLite
/// database beside them (`<storage.path>/tollgate.sqlite`). The one place that names the adapters.
public enum EmbeddedStorage {
    /// Opens (creating and upgrading as needed) the storage at `config.storage.path`.
    /// `clearTemporary`: empty `tmp/` of a former run (`serve`; never the CLI beside a server).
    public static func open(_ config: TollgateConfiguration, clearTemporary: Bool) throws -> Stores {
        try FileManager.default.createDirectory(atPath: config.storage.path, withIntermediateDirectories: true)
        let blobs = try FileBlobStore(root: config.storage.path, clearTemporary: clearTemporary)
        let database = try SQLiteStore(path: config.storage.path + "/tollgate.sqlite")
        return Stores(blobs: blobs, metadata: database)
    }
}

extension EmbeddedStorage {
    /// The admin's use cases on the embedded storage and the configured htpasswd file, for the
    /// CLI beside a server that may be running.
    public static func admin(_ config: TollgateConfiguration) throws -> Admin {
        Admin(
            users: HtpasswdUserStore(path: config.auth.htpasswd), stores: try open(config, clearTemporary: false),
            policy: config.adminPolicy)
    }
}

extension TollgateConfiguration {
    /// What the admin's use cases check against.
    public var adminPolicy: AdminPolicy {
        AdminPolicy(
            plans: plans, defaultPlan: defaultPlan, defaultAllow: auth.allow, defaultDeny: auth.deny,
            upstreams: upstreamOrder, keyDirectory: auth.token.keyDirectory, maxCacheSize: storage.maxSize)
    }
}
