import Foundation
import Logging
import RegistryCore
import ServiceLifecycle
import Synchronization
import TollgateAuth
import TollgateAdmin
import TollgateLimits
import TollgateProxy
import TollgateUpstream

/// Users' own upstream credentials, decrypted once per reload and kept in memory, by user and
/// upstream. Never logged, never returned.
final class UpstreamCredentialBook: Sendable {
    private let identities = Mutex<[UserName: [UpstreamName: UpstreamIdentity]]>([:])

    /// The identity `user` goes to `upstream` with, if they brought their own credentials.
    func identity(user: UserName, upstream: UpstreamName) -> UpstreamIdentity? {
        identities.withLock { $0[user]?[upstream] }
    }

    func replace(_ new: [UserName: [UpstreamName: UpstreamIdentity]]) { identities.withLock { $0 = new } }
}

/// Everything `tollgate user set` and `tollgate upstream login` change while the server runs:
/// plans and overrides (→ `PlanBook`), access policies (→ `PolicyBook`) and own upstream
/// credentials (→ `UpstreamCredentialBook`). Loaded before serving; then the settings version
/// is polled every 250 ms (and checked at once when the database notifies a change: `check()`)
/// and everything reloaded when it moved.
final class UserSettingsWatcher: Service, Sendable {
    let stores: Stores
    let plans: PlanBook
    let policies: PolicyBook
    let credentials: UpstreamCredentialBook
    let vault: CredentialVault
    /// Where a deleted user's cached content, counts and limits are forgotten (`tollgate user del`).
    let cache: PullThroughCache
    /// The eviction log's orders (`tollgate cache rm`, the console), applied to this cache.
    let evictions: CacheEvictions
    let limiter: any Limiter
    let ledger: UsageLedger
    let auth: Authenticator
    let logger: Logger
    /// The version loaded last.
    let version: Mutex<Int64>
    /// Reads failing in a row (an outage is logged once).
    let unreadable = FailureSpell()

    init(
        stores: Stores, plans: PlanBook, policies: PolicyBook, credentials: UpstreamCredentialBook,
        vault: CredentialVault, cache: PullThroughCache, evictions: CacheEvictions, limiter: any Limiter, ledger: UsageLedger,
        auth: Authenticator, logger: Logger, loadedVersion: Int64
    ) {
        self.stores = stores
        self.plans = plans
        self.policies = policies
        self.credentials = credentials
        self.vault = vault
        self.cache = cache
        self.evictions = evictions
        self.limiter = limiter
        self.ledger = ledger
        self.auth = auth
        self.logger = logger
        self.version = Mutex(loadedVersion)
    }

    /// Reads all settings; returns the version read.
    static func load(
        stores: Stores, plans: PlanBook, policies: PolicyBook, accounts: AccountBook, credentials: UpstreamCredentialBook,
        vault: CredentialVault, logger: Logger
    ) async throws -> Int64 {
        let version = try await stores.userSettings.settingsVersion()
        let settings = try await stores.userSettings.userSettings()
        plans.replace(PlanBook.settings(from: settings))
        for (user, key) in PlanBook.unknownLimitKeys(in: settings) {
            logger.error(
                "stored limit override names no limit of this version; it does not apply",
                metadata: ["user": "\(user)", "limit": "\(key)"])
        }
        policies.replace(Dictionary(uniqueKeysWithValues: settings.map { ($0.user, (allow: $0.allow, deny: $0.deny)) }))
        accounts.replace(
            Dictionary(
                uniqueKeysWithValues: settings.map { ($0.user, AccountBook.Account(admin: $0.role == "admin", expires: $0.expires)) }))
        var identities: [UserName: [UpstreamName: UpstreamIdentity]] = [:]
        for r in try await stores.upstreamSecrets.upstreamSecrets(user: nil) {
            // Whatever can't be used, their requests go with the shared credentials; said once per reload.
            func ignore(_ why: String) {
                logger.error(
                    "ignoring stored upstream credentials",
                    metadata: ["user": "\(r.user)", "upstream": "\(r.upstream)", "error": "\(why)"])
            }
            guard let owner = UserName(r.user), let upstream = UpstreamName(r.upstream) else {
                ignore("not a user or upstream name")
                continue
            }
            do {
                let password = try vault.open(r.sealedPassword, user: r.user, upstream: r.upstream)
                identities[owner, default: [:]][upstream] = .user(
                    owner, StaticCredentials(username: r.username, password: password))
            } catch {
                ignore("\(error)")
            }
        }
        credentials.replace(identities)
        return version
    }

    /// Drops what memory holds of a deleted user (a new user of that name starts from nothing):
    /// cached content, counts, limits and bearer tokens; then what requests under way wrote
    /// meanwhile.
    func forget(_ user: UserName, removed: Date?) async throws {
        let subject = Principal.user(user)
        await auth.users.reloadIfChanged(force: true)  // no more requests of theirs from now on
        if let removed { auth.endSessions(of: user, removed: removed) }
        cache.forget(audience: Audience.user(user))
        ledger.forget(user: user)
        limiter.forget(subject)
        try await stores.userRemovals.eraseUserActivity(user)
        logger.info("forgot a deleted user's content, usage and limits", metadata: ["user": "\(user)"])
    }

    /// Applies the eviction orders this cache has not applied yet, in order: those logged while
    /// this server was down first (`run`), then each as the settings version moves.
    func applyEvictions() async throws {
        try await evictions.applyPending { order, outcome in
            switch outcome {
            case .success(let result):
                logger.notice(
                    "eviction order applied",
                    metadata: [
                        "order": "\(order.id)", "scope": "\(order.scope)", "by": "\(order.actor)", "tags": "\(result.tags)",
                        "blobs": "\(result.blobs)", "bytes": "\(result.bytes)", "named": "\(order.digests.count)",
                    ])
            case .failure(let error):
                logger.error("skipping an eviction order this version can't read", metadata: ["error": "\(error)"])
            }
        }
    }

    func run() async {
        do {
            try await applyEvictions()
        } catch {
            logger.error("could not apply the eviction log; retrying with the next settings change", metadata: ["error": "\(error)"])
        }
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(250)) }
            await check()
        }
    }

    /// Reloads if the settings version moved. Two checks at once do the same work twice, no harm:
    /// forgetting a removed user and loading settings are idempotent.
    func check() async {
        let version = self.version.withLock { $0 }
        do {
            let now = try await stores.userSettings.settingsVersion()
            if unreadable.succeeded() { logger.notice("user settings readable again") }
            guard now != version else { return }
            for removal in try await stores.userRemovals.userRemovals(after: version) {
                try await forget(removal.user, removed: removal.removed)
            }
            try await applyEvictions()
            let loaded = try await Self.load(
                stores: stores, plans: plans, policies: policies, accounts: auth.accounts, credentials: credentials,
                vault: vault, logger: logger)
            self.version.withLock { $0 = max($0, loaded) }
            logger.info("user settings reloaded")
        } catch {
            if error is CancellationError { return }
            // Once per outage: the last settings read stay in force meanwhile.
            if unreadable.failed() { logger.error("could not read user settings; keeping those loaded", metadata: ["error": "\(error)"]) }
        }
    }
}
