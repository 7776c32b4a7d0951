import TollgateAuth
import TollgateLimits
import TollgateProxy

/// One storage engine's adapters of every port. Only the composition root (`serve`) and the
/// CLI's setup choose the engine (`EmbeddedStorage` today); everything else sees the ports.
public struct Stores: Sendable {
    // proxy
    public let blobs: any BlobStore
    public let contentIndex: any ContentIndexStore
    public let cacheIndex: any CacheIndexStore
    // auth
    public let users: any UserStore
    public let keys: any KeyStore
    public let secretTokens: any SecretTokenStore
    public let upstreamSecrets: any UpstreamSecretStore
    // limits
    public let usageLedger: any UsageLedgerStore
    public let limitWindows: any LimitWindowStore
    public let userSettings: any UserSettingsStore
    // admin
    public let userRemovals: any UserRemovalStore
    public let audit: any AuditLogStore
    public let evictions: any CacheEvictionStore

    public init(
        blobs: any BlobStore, contentIndex: any ContentIndexStore, cacheIndex: any CacheIndexStore,
        users: any UserStore, keys: any KeyStore, secretTokens: any SecretTokenStore, upstreamSecrets: any UpstreamSecretStore,
        usageLedger: any UsageLedgerStore, limitWindows: any LimitWindowStore, userSettings: any UserSettingsStore,
        userRemovals: any UserRemovalStore, audit: any AuditLogStore, evictions: any CacheEvictionStore
    ) {
        self.blobs = blobs
        self.contentIndex = contentIndex
        self.cacheIndex = cacheIndex
        self.users = users
        self.keys = keys
        self.secretTokens = secretTokens
        self.upstreamSecrets = upstreamSecrets
        self.usageLedger = usageLedger
        self.limitWindows = limitWindows
        self.userSettings = userSettings
        self.userRemovals = userRemovals
        self.audit = audit
        self.evictions = evictions
    }

    /// Every port but the blob, user and key stores from one metadata adapter that implements them all.
    public init<Metadata>(blobs: any BlobStore, users: any UserStore, keys: any KeyStore, metadata: Metadata)
    where
        Metadata: ContentIndexStore & CacheIndexStore & SecretTokenStore & UpstreamSecretStore & UsageLedgerStore
            & LimitWindowStore & UserSettingsStore & UserRemovalStore & AuditLogStore & CacheEvictionStore
    {
        self.init(
            blobs: blobs, contentIndex: metadata, cacheIndex: metadata, users: users, keys: keys, secretTokens: metadata,
            upstreamSecrets: metadata, usageLedger: metadata, limitWindows: metadata, userSettings: metadata,
            userRemovals: metadata, audit: metadata, evictions: metadata)
    }
}
