import Foundation
import RegistryCore
import Synchronization
import TollgateAdmin
import TollgateAuth
import TollgateCluster
import TollgateLimits
import TollgateProxy

/// Every storage port but the blob store and the user store, in memory, with `SQLiteStore`'s
/// semantics (its orders, cascades and settings version), for unit tests. One instance is one
/// database: a restart is using the same instance again. One extension per port, like the
/// SQLite adapter's.
public final class InMemoryDatabase: Sendable {
    /// How long a referrers page nobody refreshed is kept (`ReferrersRecord` retention).

    struct State {
        var tags: [TagKey: TagRecord] = [:]
        var manifests: [Digest: ManifestRecord] = [:]
        var links: [LinkKey: LinkRecord] = [:]
        var referrers: [ReferrersKey: ReferrersRecord] = [:]
        var access: [Digest: BlobAccess] = [:]
        var secretTokens: [String: SecretTokenRecord] = [:]
        var upstreamSecrets: [UpstreamSecretKey: UpstreamSecretRecord] = [:]
        var usage: [UsageKey: UsageRecord] = [:]
        var limitWindows: [LimitWindowKey: LimitWindowRecord] = [:]
        var settings: [String: UserSettingsRecord] = [:]
        var settingsVersion: Int64 = 0
        var removals: [(version: Int64, record: UserRemovalRecord)] = []
        var audit: [AuditEntry] = []
        var evictions: [EvictionOrder] = []
        var appliedEviction: Int64?
        var tagPulls: [TagPullKey: Double] = [:]
        // cluster
        var transfers: [String: SharedTransfer] = [:]
        var buckets: [String: (tokens: Double, updated: Double)] = [:]
        var nodes: [String: (url: String, heartbeat: Double)] = [:]

        mutating func bumpSettingsVersion() { settingsVersion += 1 }
    }

    private let state = Mutex(State())

    public init() {}

    /// Runs `body` on the state under the lock: every operation is one transaction.
    func locked<T: Sendable>(_ body: (inout State) throws -> T) throws -> T {
        try state.withLock { try body(&$0) }
    }
}

/// A failure the SQLite adapter would report as a constraint violation.
public struct InMemoryStoreError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

struct TagKey: Hashable {
    var upstream: String
    var repository: String
    var tag: String
    var audience: Audience
}

struct LinkKey: Hashable {
    var upstream: String
    var repository: String
    var digest: Digest
    var audience: Audience
}

struct ReferrersKey: Hashable {
    var upstream: String
    var repository: String
    var subject: Digest
    var query: String
    var audience: Audience
}

struct TagPullKey: Hashable {
    var upstream: String
    var repository: String
    var tag: String
    var user: String
}

struct UpstreamSecretKey: Hashable {
    var user: String
    var upstream: String
}

struct UsageKey: Hashable {
    var user: String
    var day: String
    var upstream: String
}

struct LimitWindowKey: Hashable {
    var subject: String
    var kind: String
}

extension String {
    /// SQLite's default (BINARY) collation: bytewise over UTF-8.
    static func sqliteOrder(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
}

/// Sorting by several text keys in SQLite's order (`ORDER BY a, b, c`).
func sqliteOrder(_ a: [String], _ b: [String]) -> Bool {
    for (x, y) in zip(a, b) where x != y { return String.sqliteOrder(x, y) }
    return a.count < b.count
}
