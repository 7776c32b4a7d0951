import Foundation
import Testing
import TollgateAdmin
import TollgateAuth
import TollgateInMemoryStores
import TollgateLimits

/// `db import`: a single node's accounts into another set of stores (a cluster's database).
struct MoveTests {
    @Test func movesAccountsOnceAndSealsUpstreamLoginsAgain() async throws {
        let single = AdminTests(), cluster = AdminTests()
        try await single.admin.addUser("ci", password: "ci-pw", cost: 4)
        try await single.admin.addUser("bob", password: "b-pw", cost: 4)
        try await single.admin.setDisabled("bob", true)
        _ = try await single.admin.setUserSettings("ci", .init(overrides: [.pullsPer6h: 7], deny: ["docker.io/private/**"]))
        let token = try await single.admin.createToken(user: "ci", label: "build", lifetime: nil)
        try await single.admin.upstreamLogin(user: "ci", upstream: "docker.io", username: "cibot", password: "hub-secret")
        try await single.database.addUsage([
            { var u = UsageRecord(user: "ci", day: "2026-12-01", upstream: "docker.io"); u.pulls = 3; return u }()
        ])
        try await cluster.admin.addUser("carol", password: "c-pw", cost: 4)

        let moved = try await cluster.admin.moveAccounts(from: single.admin)
        #expect(moved.users == 2 && moved.settings == 1 && moved.personalTokens == 1 && moved.upstreamLogins == 1)
        #expect(moved.usageRows == 1)
        #expect(try await cluster.admin.listUsers().map(\.name) == ["bob", "carol", "ci"])
        #expect(try await cluster.users.user("bob")?.disabled == true)
        #expect(try await cluster.users.user("ci")?.passwordHash == (try await single.users.user("ci"))?.passwordHash)
        #expect(try await cluster.database.userSettings().first?.overrides["pulls_per_6h"] == .some(7))
        // The personal token works against the new stores.
        let secrets = SecretTokens(store: cluster.database)
        #expect(try await secrets.verifyPersonal(token.secret)?.user == "ci")
        // The upstream login opens with the cluster's key (not the single node's).
        let sealed = try #require(try await cluster.database.upstreamSecrets(user: "ci").first)
        let vault = try await CredentialVault.loadOrCreate(from: cluster.keys)
        #expect(try vault.open(sealed.sealedPassword, user: "ci", upstream: "docker.io") == "hub-secret")
        #expect(try await cluster.database.usage(since: "2026-01-01", user: "ci").first?.pulls == 3)
        // A second time: refused, nothing written (usage not doubled).
        await #expect(throws: AdminError("nothing moved: these users exist here already: bob ci")) {
            _ = try await cluster.admin.moveAccounts(from: single.admin)
        }
        #expect(try await cluster.database.usage(since: "2026-01-01", user: "ci").first?.pulls == 3)
    }
}
