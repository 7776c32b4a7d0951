import Logging
import ServiceLifecycle
import Synchronization
import TollgateAuth
import TollgateLimits
import TollgateStorage
import TollgateUpstream

/// Users' own upstream credentials, decrypted once per reload and kept in memory, by user and
/// upstream. Never logged, never returned.
final class UpstreamCredentialBook: Sendable {
    private let identities = Mutex<[String: [String: UpstreamIdentity]]>([:])

    /// The identity `user` goes to `upstream` with, if they brought their own credentials.
    func identity(user: String, upstream: String) -> UpstreamIdentity? {
        guard !user.isEmpty else { return nil }
        return identities.withLock { $0[user]?[upstream] }
    }

    func replace(_ new: [String: [String: UpstreamIdentity]]) { identities.withLock { $0 = new } }
}

/// Everything `tollgate user set` and `tollgate upstream login` change while the server runs:
/// plans and overrides (→ `PlanBook`), access policies (→ `PolicyBook`) and own upstream
/// credentials (→ `UpstreamCredentialBook`). Loaded before serving; then the settings version
/// is polled every 250 ms and everything reloaded when it moved.
struct UserSettingsWatcher: Service {
    let store: SQLiteMetadataStore
    let plans: PlanBook
    let policies: PolicyBook
    let credentials: UpstreamCredentialBook
    let vault: CredentialVault
    let logger: Logger
    let loadedVersion: Int64

    /// Reads all settings; returns the version read.
    static func load(
        store: SQLiteMetadataStore, plans: PlanBook, policies: PolicyBook, credentials: UpstreamCredentialBook,
        vault: CredentialVault, logger: Logger
    ) async throws -> Int64 {
        let version = try await store.settingsVersion()
        let settings = try await store.userSettings()
        plans.replace(PlanBook.settings(from: settings))
        policies.replace(Dictionary(uniqueKeysWithValues: settings.map { ($0.user, (allow: $0.allow, deny: $0.deny)) }))
        var identities: [String: [String: UpstreamIdentity]] = [:]
        for r in try await store.upstreamCredentials(user: nil) {
            do {
                let password = try vault.open(r.sealedPassword, user: r.user, upstream: r.upstream)
                identities[r.user, default: [:]][r.upstream] = .user(
                    r.user, .init(username: r.username, password: password))
            } catch {
                // Their requests go with the shared credentials; say so once per reload.
                logger.error(
                    "ignoring stored upstream credentials", metadata: ["user": "\(r.user)", "upstream": "\(r.upstream)",
                    "error": "\(error)"])
            }
        }
        credentials.replace(identities)
        return version
    }

    func run() async {
        var version = loadedVersion
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(250)) }
            do {
                let now = try await store.settingsVersion()
                guard now != version else { continue }
                version = try await Self.load(
                    store: store, plans: plans, policies: policies, credentials: credentials, vault: vault, logger: logger)
                logger.info("user settings reloaded")
            } catch {
                if error is CancellationError { break }
                logger.error("could not read user settings", metadata: ["error": "\(error)"])
            }
        }
    }
}
