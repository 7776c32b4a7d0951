import Foundation
import TollgateAdmin
import TollgateAuth
import TollgateFileStorage
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

extension EmbeddedStorage {
    /// The admin's use cases on the embedded storage and the configured htpasswd file, for the
    /// CLI beside a server that may be running.
    public static func admin(_ config: TollgateConfiguration) throws -> Admin {
        Admin(stores: try open(config, clearTemporary: false), policy: config.adminPolicy)
    }
}

extension TollgateConfiguration {
    /// What the admin's use cases check against.
    public var adminPolicy: AdminPolicy {
        AdminPolicy(
            plans: plans, defaultPlan: defaultPlan, defaultAllow: auth.allow, defaultDeny: auth.deny,
            upstreams: upstreamOrder, maxCacheSize: storage.maxSize)
    }
}
