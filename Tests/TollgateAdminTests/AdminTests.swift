import Foundation
import NIOCore
import RegistryCore
import Testing
import TollgateAdmin
import TollgateAuth
import TollgateInMemoryStores
import TollgateLimits
import TollgateProxy

/// The admin's use cases over in-memory stores: what `tollgate user|token|upstream|usage|cache`
/// do, with their cascades and refusals, without a CLI or a file.
struct AdminTests {
    let database = InMemoryDatabase()
    let blobs = InMemoryBlobStore()
    let users = InMemoryUserStore()
    let keys = InMemoryKeyStore()

    var admin: Admin {
        Admin(
            stores: Stores(blobs: blobs, users: users, keys: keys, metadata: database),
            policy: AdminPolicy(
                plans: Plan.builtIn, defaultPlan: "default", defaultAllow: ["**"], defaultDeny: [],
                upstreams: ["docker.io", "ghcr.io"], maxCacheSize: nil))
    }

    static func name(_ s: String) -> UserName { UserName(s)! }

    @Test func addRefusesBadAndTakenNamesAndHashesWithBcrypt() async throws {
        try await admin.addUser("alice", password: "pw", cost: 4)
        let alice = try #require(try await users.user("alice"))
        #expect(Bcrypt.verify("pw", hash: alice.passwordHash))
        #expect(!alice.disabled)
        await #expect(throws: AdminError("user alice already exists")) { try await admin.addUser("alice", password: "x", cost: 4) }
        await #expect(throws: AdminError("invalid user name: contains ':'")) { try await admin.checkNewUser("a:b") }
        await #expect(throws: AdminError("invalid user name: empty")) { try await admin.checkNewUser("") }
    }

    /// `user del` removes the user first, then everything stored for them, and logs the removal;
    /// `user add` of the name again starts from nothing.
    @Test func deleteCascadesAndANewUserOfTheNameStartsFresh() async throws {
        try await admin.addUser("ci", password: "pw", cost: 4)
        _ = try await admin.createToken(user: "ci", label: "build", lifetime: nil)
        try await admin.upstreamLogin(user: "ci", upstream: "docker.io", username: "bot", password: "secret")
        _ = try await admin.setUserSettings("ci", .init(plan: "anonymous"))
        let own = Audience.user(Self.name("ci"))
        try await database.putLink(
            LinkRecord(upstream: "docker.io", repository: "p/x", digest: .sha256(of: [1]), size: 1, audience: own))
        var row = UsageRecord(user: "ci", day: "2026-12-01", upstream: "docker.io")
        row.pulls = 2
        try await database.addUsage([row])
        let before = try await database.settingsVersion()

        #expect(try await admin.deleteUser("ci") == 1)  // one personal token went with them

        #expect(try await users.user("ci") == nil)
        #expect(try await admin.listTokens(user: "ci").tokens.isEmpty)
        #expect(try await admin.upstreamLogins(user: "ci").isEmpty)
        #expect(try await database.userSettings().isEmpty)
        #expect(try await database.repositories(audiences: [own]).isEmpty)
        #expect(try await database.usage(since: "2000-01-01", user: "ci").isEmpty)
        #expect(try await database.userRemovals(after: before).map(\.user) == [Self.name("ci")])
        await #expect(throws: AdminError("no user ci")) { _ = try await admin.deleteUser("ci") }
        // The same name again: nothing of the former user, and the clearing is logged without a time.
        try await admin.addUser("ci", password: "new", cost: 4)
        let removals = try await database.userRemovals(after: before)
        #expect(removals.count == 2)
        #expect(removals.last?.removed == nil)
    }

    @Test func passwordChangeEndsStoredLoginsButNotPersonalTokens() async throws {
        try await admin.addUser("bob", password: "old", cost: 4)
        let (pat, _) = try await admin.createToken(user: "bob", label: "ci", lifetime: .seconds(3600))
        _ = try await SecretTokens(store: database).create(user: "bob", kind: .refresh, label: "login", expires: nil)
        #expect(try await admin.listTokens(user: "bob").logins.count == 1)
        try await admin.setPassword("bob", password: "new", cost: 4)
        #expect(Bcrypt.verify("new", hash: try #require(try await users.user("bob")).passwordHash))
        #expect(try await admin.listTokens(user: "bob").logins.isEmpty)
        #expect(try await admin.listTokens(user: "bob").tokens.map(\.id) == [pat.id])
        await #expect(throws: AdminError("no user carol")) { try await admin.setPassword("carol", password: "x", cost: 4) }
    }

    @Test func disableAndEnable() async throws {
        try await admin.addUser("dan", password: "pw", cost: 4)
        try await admin.setDisabled("dan", true)
        #expect(try await users.user("dan")?.disabled == true)
        try await admin.setDisabled("dan", false)
        #expect(try await admin.listUsers().map(\.disabled) == [false])
        await #expect(throws: AdminError("no user eve")) { try await admin.setDisabled("eve", true) }
    }

    /// `user set` merges into what is stored, refuses what it would lose, and says what applies now.
    /// Every change is in the audit log, with who did it from where, and never a secret.
    @Test func everyChangeIsAudited() async throws {
        let console = admin.acting(as: .init(name: "root", address: "2001:db8::7"))
        try await admin.addUser("ann", password: "pw-secret", cost: 4)
        _ = try await console.setUserSettings("ann", .init(plan: "default", overrides: [.pullsPer6h: 5], role: "admin"))
        let token = try await console.createToken(user: "ann", label: "ci", lifetime: nil)
        try await console.revokeToken(id: token.record.id)
        try await admin.upstreamLogin(user: "ann", upstream: "docker.io", username: "annhub", password: "hub-secret")
        try await admin.upstreamLogout(user: "ann", upstream: "docker.io")
        try await console.setPassword("ann", password: "pw-2", cost: 4)
        try await console.setDisabled("ann", true)
        _ = try await admin.revokeAllTokens(user: "ann")
        _ = try await console.deleteUser("ann")
        let log = try await admin.auditLog(since: .distantPast, limit: 100)
        #expect(log.map(\.action) == [
            "user.add", "user.set", "token.create", "token.revoke", "upstream.login", "upstream.logout", "user.passwd",
            "user.disable", "token.revoke-all", "user.del",
        ])
        #expect(log.allSatisfy { $0.target == "ann" })
        #expect(log[0].actor == "cli" && log[0].address == "local")
        #expect(log[1].actor == "root" && log[1].address == "2001:db8::7")
        #expect(log[1].detail == "plan=default pulls_per_6h=5 role=admin")
        #expect(log[2].detail.hasPrefix("id \(token.record.id) label ci"))
        #expect(log[4].detail == "docker.io as annhub")
        for e in log { #expect(!e.detail.contains("secret") && !e.detail.contains(token.secret) && !e.detail.contains("pw")) }
        // the log outlives the user
        #expect(try await admin.auditLog(since: .distantPast, limit: 3).map(\.action) == ["user.disable", "token.revoke-all", "user.del"])
    }

    @Test func rolesAndEndDaysAreSettingsThatClearingKeeps() async throws {
        try await admin.addUser("ann", password: "pw", cost: 4)
        let v = try await admin.setUserSettings("ann", .init(role: "admin", expires: "2027-01-31"))
        #expect(v.record.role == "admin" && v.record.expires == "2027-01-31")
        // --clear-overrides returns plan, limits and policy to the defaults, not the role or the day
        let cleared = try await admin.setUserSettings("ann", .init(plan: "default", clearFirst: true))
        #expect(cleared.record.role == "admin" && cleared.record.expires == "2027-01-31")
        let back = try await admin.setUserSettings("ann", .init(role: "user", expires: "never"))
        #expect(back.record.role == nil && back.record.expires == nil)
        for (change, message) in [
            (Admin.SettingsChange(role: "root"), "--role: admin or user, not root"),
            (Admin.SettingsChange(expires: "2027-02-31"), "--expires: a day such as 2027-01-31 (the account's last day, UTC) or never"),
            (Admin.SettingsChange(expires: "tomorrow"), "--expires: a day such as 2027-01-31 (the account's last day, UTC) or never"),
        ] {
            await #expect(throws: AdminError(message)) { try await admin.setUserSettings("ann", change) }
        }
    }

    @Test func settingsMergeRefuseAndSummarize() async throws {
        try await admin.addUser("fay", password: "pw", cost: 4)
        var view = try await admin.setUserSettings("fay", .init(overrides: [.pullsPer6h: 5]))
        #expect(view.effective.plan == "default")
        #expect(view.effective.limits[.pullsPer6h] == 5)
        view = try await admin.setUserSettings("fay", .init(plan: "anonymous", overrides: [.bytesPerDay: nil], deny: ["ghcr.io/**"]))
        #expect(view.effective.plan == "anonymous")
        #expect(view.effective.limits[.pullsPer6h] == 5)  // kept from before
        #expect(view.effective.limits[.bytesPerDay] == nil)  // unlimited
        #expect(view.allow == ["**"] && view.deny == ["ghcr.io/**"])
        view = try await admin.setUserSettings("fay", .init(clearFirst: true))
        #expect(view.record.isEmpty)
        await #expect(throws: AdminError("no plan gold (plans: anonymous, default)")) {
            _ = try await admin.setUserSettings("fay", .init(plan: "gold"))
        }
        await #expect(throws: AdminError("nothing to set: give --plan, a limit option, --allow/--deny, --role, --expires, or --clear-overrides")) {
            _ = try await admin.setUserSettings("fay", .init())
        }
        // A limit a newer version stored is not dropped by rewriting the record.
        try await database.putUserSettings(UserSettingsRecord(user: "fay", overrides: ["pulls_per_week": 3]))
        await #expect(throws: AdminError.self) { _ = try await admin.setUserSettings("fay", .init(overrides: [.pullsPer6h: 1])) }
        #expect(try await database.userSettings().first?.overrides == ["pulls_per_week": 3])
    }

    @Test func tokensAreCreatedListedAndRevoked() async throws {
        try await admin.addUser("gus", password: "pw", cost: 4)
        let (record, secret) = try await admin.createToken(user: "gus", label: "deploy", lifetime: .seconds(60))
        #expect(secret.hasPrefix("tgp_"))
        #expect(try await admin.listTokens(user: "gus").tokens.map(\.label) == ["deploy"])
        #expect(!(try await database.secretTokens(user: "gus", kind: .personal)).contains { $0.secretHash.contains(secret) })
        try await admin.revokeToken(id: record.id)
        #expect(try await admin.listTokens(user: "gus").tokens.isEmpty)
        await #expect(throws: AdminError("no token \(record.id)")) { try await admin.revokeToken(id: record.id) }
        await #expect(throws: AdminError("--label: at most 200 bytes, no control characters")) {
            _ = try await admin.createToken(user: "gus", label: "a\nb", lifetime: nil)
        }
        await #expect(throws: AdminError("no user hal")) { _ = try await admin.createToken(user: "hal", label: "", lifetime: nil) }
    }

    @Test func upstreamLoginsAreSealedAndChecked() async throws {
        try await admin.addUser("ida", password: "pw", cost: 4)
        try await admin.upstreamLogin(user: "ida", upstream: "ghcr.io", username: "ida-gh", password: "hunter2")
        let stored = try #require(try await admin.upstreamLogins(user: "ida").first)
        #expect(stored.username == "ida-gh")
        #expect(!String(decoding: stored.sealedPassword, as: UTF8.self).contains("hunter2"))
        let vault = try await CredentialVault.loadOrCreate(from: keys)
        #expect(try vault.open(stored.sealedPassword, user: "ida", upstream: "ghcr.io") == "hunter2")
        await #expect(throws: AdminError("no upstream quay.io (configured: docker.io, ghcr.io)")) {
            try await admin.upstreamLogin(user: "ida", upstream: "quay.io", username: "x", password: "y")
        }
        await #expect(throws: AdminError.self) {
            try await admin.upstreamLogin(user: "ida", upstream: "ghcr.io", username: "a:b", password: "y")
        }
        try await admin.upstreamLogout(user: "ida", upstream: "ghcr.io")
        await #expect(throws: AdminError("ida has no credentials for ghcr.io")) {
            try await admin.upstreamLogout(user: "ida", upstream: "ghcr.io")
        }
    }

    /// `cache prune` and `cache verify` work on the stores alone (no running cache).
    @Test func cachePruneAndVerifyOnTheStoresAlone() async throws {
        let old = Date().timeIntervalSince1970 - 3600
        var digests: [Digest] = []
        for i in 0..<3 {
            let bytes = [UInt8](repeating: UInt8(i), count: 1000)
            let digest = Digest.sha256(of: bytes)
            let writer = try await blobs.writer()
            try await writer.append(ByteBuffer(bytes: bytes))
            try await writer.commit(as: digest, durable: false)
            digests.append(digest)
        }
        try await database.recordAccess(digests.enumerated().map { BlobAccess(digest: $1, size: 1000, lastAccess: old + Double($0)) })
        var stats = try await admin.cacheStats()
        #expect((stats.blobs, stats.bytes) == (3, 3000))
        // Down to 2000 bytes: the least recently used one goes.
        let dry = try await admin.pruneCache(maxSize: 2000, olderThan: nil, dryRun: true)
        #expect((dry.blobs, dry.bytes, dry.before) == (1, 1000, 3000))
        #expect(try await blobs.size(of: digests[0]) == 1000)
        let pruned = try await admin.pruneCache(maxSize: 2000, olderThan: nil, dryRun: false)
        #expect((pruned.blobs, pruned.bytes) == (1, 1000))
        #expect(try await blobs.size(of: digests[0]) == nil)
        stats = try await admin.cacheStats()
        #expect((stats.blobs, stats.bytes) == (2, 2000))
        await #expect(throws: AdminError.self) { _ = try await admin.pruneCache(maxSize: nil, olderThan: nil, dryRun: false) }
        // A damaged blob (bytes that don't hash to its name) is quarantined and forgotten.
        let bad = Digest.sha256(of: [9])
        let writer = try await blobs.writer()
        try await writer.append(ByteBuffer(bytes: [8]))
        try await writer.commit(as: bad, durable: false)
        var moved: [String] = []
        let checked = try await admin.verifyCache { i, all, to in if let to { moved.append("\(all[i].digest) \(to)") } }
        #expect(checked.count == 3)
        #expect(moved.count == 1 && moved[0].hasPrefix(bad.description))
        #expect(try await blobs.size(of: bad) == nil)
        #expect(try await admin.cacheStats().quarantined == 1)
    }
}
