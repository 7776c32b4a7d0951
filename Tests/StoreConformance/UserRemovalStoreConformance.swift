import Foundation
import RegistryCore
import Testing
import TollgateAdmin
import TollgateAuth
import TollgateLimits
import TollgateProxy

/// The contract of `UserRemovalStore`, for an adapter that also implements the ports whose rows
/// a removal takes (as one engine's metadata adapter does).
public struct UserRemovalStoreConformance<
    Store: UserRemovalStore & ContentIndexStore & SecretTokenStore & UpstreamSecretStore & UsageLedgerStore
        & LimitWindowStore & UserSettingsStore
>: ConformanceSuite {
    let engine: Engine<Store>

    public init(_ engine: Engine<Store>) { self.engine = engine }

    public var checks: [Check] {
        [
            ("erasingAUserLeavesNothingOfThem", erasingAUserLeavesNothingOfThem),
            ("erasingActivityKeepsTheAccount", erasingActivityKeepsTheAccount),
            ("removalsAreLoggedOldestFirst", removalsAreLoggedOldestFirst),
            ("survivesARestart", survivesARestart),
        ]
    }

    func erasingAUserLeavesNothingOfThem() async throws {
        let m = try await engine.open().store
        try await leaveTraces(of: "ci", in: m)
        try await leaveTraces(of: "bob", in: m)
        let before = try await m.settingsVersion()

        try await m.eraseUser(name("ci"), removed: Date())

        try await expectNoActivity(of: "ci", in: m)
        #expect(try await m.secretToken(id: "t-ci") == nil)
        #expect(try await m.secretToken(id: "r-ci") == nil)
        #expect(try await m.upstreamSecrets(user: "ci").isEmpty)
        #expect(try await m.userSettings().map(\.user) == ["bob"])
        #expect(try await m.settingsVersion() > before)
        try await expectAllTraces(of: "bob", in: m)
        // Shared content stays.
        #expect(try await m.link(upstream: "docker.io", repository: "p/x", digest: testDigest(1), audience: .shared) != nil)
        #expect(try await m.tag(upstream: "docker.io", repository: "p/x", tag: "1", audience: .shared) != nil)
    }

    func erasingActivityKeepsTheAccount() async throws {
        let m = try await engine.open().store
        try await leaveTraces(of: "ci", in: m)
        try await leaveTraces(of: "bob", in: m)
        let version = try await m.settingsVersion()
        try await m.eraseUserActivity(name("ci"))
        try await expectNoActivity(of: "ci", in: m)
        #expect(try await m.secretToken(id: "t-ci") != nil)
        #expect(try await m.upstreamSecrets(user: "ci").count == 1)
        #expect(try await m.userSettings().map(\.user) == ["bob", "ci"])
        #expect(try await m.userRemovals(after: version).isEmpty)
        try await expectAllTraces(of: "bob", in: m)
    }

    func removalsAreLoggedOldestFirst() async throws {
        let m = try await engine.open().store
        let start = try await m.settingsVersion()
        #expect(try await m.userRemovals(after: start).isEmpty)
        let now = Date()
        try await m.eraseUser(name("ci"), removed: now)
        let afterFirst = try await m.settingsVersion()
        try await m.eraseUser(name("new"), removed: nil)  // a new user of the name: only leftovers cleared
        try await m.eraseUser(name("old"), removed: now.addingTimeInterval(-3600))
        #expect(try await m.userRemovals(after: start).map(\.user.value) == ["ci", "new", "old"])
        let times = try await m.userRemovals(after: start).map { $0.removed?.timeIntervalSince1970 }
        #expect(times.count == 3 && times[1] == nil)
        #expect(abs((times.first.flatMap { $0 } ?? 0) - now.timeIntervalSince1970) < 0.001)
        #expect(abs((times.last.flatMap { $0 } ?? 0) - (now.timeIntervalSince1970 - 3600)) < 0.001)
        #expect(try await m.userRemovals(after: afterFirst).map(\.user.value) == ["new", "old"])
        #expect(try await m.userRemovals(after: try await m.settingsVersion()).isEmpty)
        // By time: only removals with one.
        #expect(try await m.userRemovals(since: now.addingTimeInterval(-60)).map(\.user.value) == ["ci"])
        #expect(try await m.userRemovals(since: now.addingTimeInterval(-7200)).map(\.user.value) == ["ci", "old"])
        #expect(try await m.userRemovals(since: now.addingTimeInterval(60)).isEmpty)
    }

    func survivesARestart() async throws {
        let (m, reopen) = try await engine.open()
        let start = try await m.settingsVersion()
        try await m.eraseUser(name("ci"), removed: at(1000))
        let again = try await reopen()
        #expect(try await again.userRemovals(after: start) == [UserRemovalRecord(user: name("ci"), removed: at(1000))])
        #expect(try await again.userRemovals(since: at(999)).map(\.user.value) == ["ci"])
    }

    /// Everything a user can have: links, tags and referrers of their audience, tokens, an
    /// upstream secret, settings, usage and limit windows; and shared content of the same names.
    private func leaveTraces(of user: String, in m: Store) async throws {
        let d = testDigest(1)
        for audience in [Audience.user(name(user)), .shared] {
            try await m.putLink(LinkRecord(upstream: "docker.io", repository: "p/x", digest: d, size: 1, audience: audience))
            try await m.putTag(
                TagRecord(upstream: "docker.io", repository: "p/x", tag: "1", digest: d, fetchedAt: 1, audience: audience))
            try await m.putReferrers(
                ReferrersRecord(
                    upstream: "docker.io", repository: "p/x", subject: d, query: "", audience: audience, contentType: "x/y",
                    filtersApplied: nil, nextQuery: nil, body: [1], fetchedAt: 1))
        }
        try await m.insertSecretToken(token("t-\(user)", .personal, user: user, at: 1), keepNewest: nil)
        try await m.insertSecretToken(token("r-\(user)", .refresh, user: user, at: 2), keepNewest: nil)
        try await m.putUpstreamSecret(secret(user, "docker.io"))
        try await m.putUserSettings(UserSettingsRecord(user: user, plan: "big"))
        try await m.addUsage([usage(user, "2026-12-01", "docker.io", requests: 3)])
        try await m.saveLimitWindows([
            LimitWindowRecord(subject: Principal.user(name(user)).description, kind: "pulls", start: 1, used: 2),
            LimitWindowRecord(subject: Principal.anonymous(AddressGroup(address: user)).description, kind: "pulls", start: 1, used: 2),
        ])
    }

    private func expectNoActivity(of user: String, in m: Store) async throws {
        let d = testDigest(1)
        #expect(try await m.link(upstream: "docker.io", repository: "p/x", digest: d, audience: .user(name(user))) == nil)
        #expect(try await m.tag(upstream: "docker.io", repository: "p/x", tag: "1", audience: .user(name(user))) == nil)
        #expect(
            try await m.referrers(upstream: "docker.io", repository: "p/x", subject: d, query: "", audience: .user(name(user))) == nil)
        #expect(try await m.repositories(audiences: [.user(name(user))]).isEmpty)
        #expect(try await m.usage(since: "2000-01-01", user: user).isEmpty)
        let subjects = try await m.limitWindows(since: 0).map(\.subject)
        #expect(!subjects.contains(Principal.user(name(user)).description))
        // An address group that happens to look like the name is not the user.
        #expect(subjects.contains(Principal.anonymous(AddressGroup(address: user)).description))
    }

    private func expectAllTraces(of user: String, in m: Store) async throws {
        let d = testDigest(1)
        #expect(try await m.link(upstream: "docker.io", repository: "p/x", digest: d, audience: .user(name(user))) != nil)
        #expect(try await m.tag(upstream: "docker.io", repository: "p/x", tag: "1", audience: .user(name(user))) != nil)
        #expect(
            try await m.referrers(upstream: "docker.io", repository: "p/x", subject: d, query: "", audience: .user(name(user))) != nil)
        #expect(try await m.secretToken(id: "t-\(user)") != nil)
        #expect(try await m.upstreamSecrets(user: user).count == 1)
        #expect(try await m.usage(since: "2000-01-01", user: user).count == 1)
        #expect(try await m.limitWindows(since: 0).map(\.subject).contains(Principal.user(name(user)).description))
    }
}
