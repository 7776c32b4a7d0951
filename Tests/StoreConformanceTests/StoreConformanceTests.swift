import Foundation
import Testing
import TollgateFileStorage
import TollgateInMemoryStores
import TollgateSQLite
import TollgateStoreConformance

/// Every port's conformance suite against every adapter: SQLite (metadata), the file blob store,
/// the htpasswd user store, and the in-memory ones.
@Suite struct StoreConformanceTests {
    let scratch = Scratch()
    var sqlite: Engine<SQLiteStore> { .located(at: newPath) { try SQLiteStore(path: $0 + ".sqlite") } }
    var newPath: @Sendable () -> String { { [scratch] in scratch.newPath() } }
    let memory = Engine.instance { InMemoryDatabase() }

    @Test func contentIndexSQLite() async throws { try await ContentIndexStoreConformance(sqlite).runAll() }
    @Test func contentIndexInMemory() async throws { try await ContentIndexStoreConformance(memory).runAll() }
    @Test func cacheIndexSQLite() async throws { try await CacheIndexStoreConformance(sqlite).runAll() }
    @Test func cacheIndexInMemory() async throws { try await CacheIndexStoreConformance(memory).runAll() }
    @Test func secretTokensSQLite() async throws { try await SecretTokenStoreConformance(sqlite).runAll() }
    @Test func secretTokensInMemory() async throws { try await SecretTokenStoreConformance(memory).runAll() }
    @Test func upstreamSecretsSQLite() async throws { try await UpstreamSecretStoreConformance(sqlite).runAll() }
    @Test func upstreamSecretsInMemory() async throws { try await UpstreamSecretStoreConformance(memory).runAll() }
    @Test func usageLedgerSQLite() async throws { try await UsageLedgerStoreConformance(sqlite).runAll() }
    @Test func usageLedgerInMemory() async throws { try await UsageLedgerStoreConformance(memory).runAll() }
    @Test func limitWindowsSQLite() async throws { try await LimitWindowStoreConformance(sqlite).runAll() }
    @Test func limitWindowsInMemory() async throws { try await LimitWindowStoreConformance(memory).runAll() }
    @Test func userSettingsSQLite() async throws { try await UserSettingsStoreConformance(sqlite).runAll() }
    @Test func userSettingsInMemory() async throws { try await UserSettingsStoreConformance(memory).runAll() }
    @Test func settingsVersionSQLite() async throws { try await SettingsVersionConformance(sqlite).runAll() }
    @Test func settingsVersionInMemory() async throws { try await SettingsVersionConformance(memory).runAll() }
    @Test func userRemovalsSQLite() async throws { try await UserRemovalStoreConformance(sqlite).runAll() }
    @Test func userRemovalsInMemory() async throws { try await UserRemovalStoreConformance(memory).runAll() }
    @Test func auditLogSQLite() async throws { try await AuditLogStoreConformance(sqlite).runAll() }
    @Test func auditLogInMemory() async throws { try await AuditLogStoreConformance(memory).runAll() }
    @Test func cacheEvictionsSQLite() async throws { try await CacheEvictionStoreConformance(sqlite).runAll() }
    @Test func cacheEvictionsInMemory() async throws { try await CacheEvictionStoreConformance(memory).runAll() }
    @Test func sharedLimitsInMemory() async throws { try await SharedLimitStoreConformance(memory).runAll() }

    @Test func blobsOnFiles() async throws {
        try await BlobStoreConformance(Engine.located(at: newPath) { try FileBlobStore(root: $0, clearTemporary: false) })
            .runAll()
    }
    @Test func blobsInMemory() async throws { try await BlobStoreConformance(Engine.instance { InMemoryBlobStore() }).runAll() }

    @Test func usersInHtpasswd() async throws {
        try await UserStoreConformance(Engine.located(at: newPath) { HtpasswdUserStore(path: $0 + ".htpasswd") }).runAll()
    }
    @Test func usersInMemory() async throws { try await UserStoreConformance(Engine.instance { InMemoryUserStore() }).runAll() }

    @Test func keysInADirectory() async throws {
        try await KeyStoreConformance(Engine.located(at: newPath) { KeyDirectory(path: $0) }).runAll()
    }
    @Test func keysInMemory() async throws { try await KeyStoreConformance(Engine.instance { InMemoryKeyStore() }).runAll() }
}

/// A temporary directory per test (swift-testing makes a suite instance per test), removed with it;
/// each store gets a path of its own in it.
final class Scratch: Sendable {
    let directory = NSTemporaryDirectory() + "tollgate-conformance-\(UUID().uuidString)"

    init() { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func newPath() -> String { directory + "/" + UUID().uuidString }
}
