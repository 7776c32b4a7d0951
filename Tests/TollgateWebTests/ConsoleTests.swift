import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import RegistryCore
import Synchronization
import Testing
import TollgateAdmin
@testable import TollgateAuth
import TollgateInMemoryStores
import TollgateLimits
import TollgateProxy
import TollgateUpstream

@testable import TollgateWeb

/// A request context for the console alone: the client is 127.0.0.1, the mirror `http://mirror.test:5000`.
struct ConsoleTestContext: ConsoleRequestContext {
    var coreContext: CoreRequestContextStorage
    init(source: ApplicationRequestContextSource) { coreContext = .init(source: source) }
    var clientAddress: String? { "127.0.0.1" }
    var consoleOrigin: String? { "http://mirror.test:5000" }
}

/// The console over in-memory stores, through HTTP: login, sessions, form tokens, pages, and who
/// may see and change what.
struct ConsoleTests {
    let database = InMemoryDatabase()
    let users = InMemoryUserStore()
    let stores: Stores
    let admin: Admin
    let ledger = UsageLedger(metrics: nil)
    let auth: Authenticator

    init() async throws {
        let logger = Logger(label: "console-test")
        let (key, cert) = try TokenKeys.generate(.es256)
        auth = Authenticator(
            users: await UserDirectory(store: users, logger: logger, reloadInterval: .zero),
            tokens: try await TokenService(
                keys: try TokenKeys(keyPEM: key, certificatePEM: cert, algorithm: .es256), issuer: "t", service: "t",
                ttl: .seconds(300)),
            secrets: SecretTokens(store: database, cacheTTL: .zero),
            throttle: LoginThrottle(failures: 5, window: .seconds(60)), anonymousAllowed: false,
            policies: PolicyBook(default: AccessPolicy()), logger: logger)
        stores = Stores(blobs: InMemoryBlobStore(), users: users, keys: InMemoryKeyStore(), metadata: database)
        admin = Admin(
            stores: stores,
            policy: AdminPolicy(
                plans: Plan.builtIn, defaultPlan: "default", defaultAllow: ["**"], defaultDeny: [], upstreams: ["docker.io"],
                maxCacheSize: nil))
    }

    let health = UpstreamHealth()
    /// How often the console told the running cache about an eviction.
    let evictedCalls = Counter()

    func withConsole(prefix: String = "", _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await admin.addUser("alice", password: "alice-pw", cost: 4)
        try await admin.addUser("bob", password: "bob-pw", cost: 4)
        let logger = Logger(label: "console-test")
        let auth = self.auth
        let router = Router(context: ConsoleTestContext.self)
        Console<ConsoleTestContext>(
            auth: auth, sessions: WebSessions(secrets: auth.secrets) { await auth.isActive($0) }, admin: admin,
            limiter: RateLimiter(plans: PlanBook(plans: Plan.builtIn, defaultPlan: "default")), ledger: ledger,
            upstreamHealth: [("docker.io", "https://registry-1.docker.io", health)], publicURL: nil,
            prefix: prefix, evicted: { [evictedCalls] in evictedCalls.value.withLock { $0 += 1 } }, logger: logger
        ).addRoutes(to: router)
        try await Application(router: router).test(.router) { client in try await body(client) }
    }

    // MARK: helpers

    final class Counter: Sendable {
        let value = Mutex(0)
    }

    /// A browser's cookie jar and the last page's form token.
    final class Browser: @unchecked Sendable {
        var cookies: [String: String] = [:]
        var csrf: String?
        let prefix: String
        init(prefix: String = "") { self.prefix = prefix }

        var cookieHeader: HTTPFields {
            var h = HTTPFields()
            if !cookies.isEmpty { h[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
            return h
        }

        func take(_ response: TestResponse) -> String {
            for line in response.headers[values: .setCookie] {
                let pair = line.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
                let name = String(pair[0])
                let value = pair.count > 1 ? String(pair[1]) : ""
                if value.isEmpty || line.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
            }
            let body = String(buffer: response.body)
            if let r = body.range(of: #"name="csrf" value="([^"]*)""#, options: .regularExpression) {
                csrf = String(body[r].dropFirst(#"name="csrf" value=""#.count).dropLast())
            }
            return body
        }

        @discardableResult
        func get(_ client: any TestClientProtocol, _ path: String) async throws -> (HTTPResponse.Status, String, TestResponse) {
            let r = try await client.execute(uri: prefix + path, method: .get, headers: cookieHeader, body: nil)
            return (r.status, take(r), r)
        }

        @discardableResult
        func post(_ client: any TestClientProtocol, _ path: String, _ fields: [String: String], csrf: Bool = true)
            async throws -> (HTTPResponse.Status, String, TestResponse)
        {
            var f = fields
            if csrf, let token = self.csrf { f["csrf"] = token }
            var headers = cookieHeader
            headers[.contentType] = "application/x-www-form-urlencoded"
            let body = f.map { "\(FormURLEncoding.encode($0.key))=\(FormURLEncoding.encode($0.value))" }.joined(separator: "&")
            let r = try await client.execute(uri: prefix + path, method: .post, headers: headers, body: ByteBuffer(string: body))
            return (r.status, take(r), r)
        }

        func login(_ client: any TestClientProtocol, _ user: String, _ password: String) async throws -> TestResponse {
            try await get(client, "/login")
            return try await post(client, "/login", ["username": user, "password": password]).2
        }
    }

    // MARK: login and sessions

    @Test func loginGivesAStrictHttpOnlySessionCookieAndTheOverviewItsPlan() async throws {
        try await withConsole { client in
            let b = Browser()
            let (status, _, page) = try await b.get(client, "/")
            #expect(status == .seeOther && page.headers[.location] == "/login", "no session: to the login page")
            let login = try await b.login(client, "alice", "alice-pw")
            #expect(login.status == .seeOther && login.headers[.location] == "/")
            let cookie = try #require(login.headers[values: .setCookie].first { $0.hasPrefix("tollgate_session=") })
            #expect(cookie.hasPrefix("tollgate_session=tgs_"))
            for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=604800"] {
                #expect(cookie.contains(attribute), "\(attribute) in \(cookie)")
            }
            #expect(!cookie.contains("Secure"), "plain HTTP: no Secure attribute")
            let (s2, body, r) = try await b.get(client, "/")
            #expect(s2 == .ok)
            #expect(body.contains("Hello, alice") && body.contains("<strong>default</strong>"))
            #expect(body.contains(#"id="meter-pulls_per_6h""#) && body.contains("of <span class=\"limit\">200</span>"))
            #expect(body.contains("mirror.test:5000"))
            #expect(r.headers[.init("Content-Security-Policy")!] == "default-src 'self'; frame-ancestors 'none'")
            #expect(r.headers[.init("X-Content-Type-Options")!] == "nosniff")
            #expect(r.headers[.init("Referrer-Policy")!] == "same-origin")
            // the session is stored as a hash only
            let stored = try await database.secretTokens(user: "alice", kind: .session)
            #expect(stored.count == 1 && !b.cookies["tollgate_session"]!.contains(stored[0].secretHash))
        }
    }

    @Test func wrongPasswordsAndFormsFromElsewhereGetNoSession() async throws {
        try await withConsole { client in
            let b = Browser()
            let bad = try await b.login(client, "alice", "wrong")
            #expect(bad.status == .ok && b.cookies["tollgate_session"] == nil)
            #expect(String(buffer: bad.body).contains("Wrong user name or password"))
            // a login form posted without the cookie its page set (another site's form): refused
            let other = Browser()
            other.csrf = "made-up"
            let (status, _, _) = try await other.post(client, "/login", ["username": "alice", "password": "alice-pw"])
            #expect(status == .forbidden && other.cookies["tollgate_session"] == nil)
            #expect(try await database.secretTokens(user: "alice", kind: .session).isEmpty)
        }
    }

    @Test func loginsAreLockedOutLikeTheRegistrys() async throws {
        try await withConsole { client in
            let b = Browser()
            for _ in 0..<5 { _ = try await b.login(client, "alice", "wrong") }
            let locked = try await b.login(client, "alice", "alice-pw")
            #expect(locked.status == .tooManyRequests && b.cookies["tollgate_session"] == nil)
        }
    }

    @Test func logoutEndsTheSession() async throws {
        try await withConsole { client in
            let b = Browser()
            _ = try await b.login(client, "alice", "alice-pw")
            let old = b.cookies["tollgate_session"]!
            try await b.get(client, "/")
            let (status, _, r) = try await b.post(client, "/logout", [:])
            #expect(status == .seeOther && r.headers[.location] == "/login" && b.cookies["tollgate_session"] == nil)
            b.cookies["tollgate_session"] = old
            #expect(try await b.get(client, "/").0 == .seeOther, "the old cookie no longer opens a page")
        }
    }

    @Test(arguments: ["disable", "passwd", "delete"])
    func sessionsEndWhenTheUserChanges(_ change: String) async throws {
        try await withConsole { client in
            let b = Browser()
            _ = try await b.login(client, "alice", "alice-pw")
            #expect(try await b.get(client, "/").0 == .ok)
            switch change {
            case "disable": try await admin.setDisabled("alice", true)
            case "passwd": try await admin.setPassword("alice", password: "new-pw", cost: 4)
            default: _ = try await admin.deleteUser("alice")
            }
            let (status, _, r) = try await b.get(client, "/")
            #expect(status == .seeOther && r.headers[.location] == "/login", "\(change): session ended")
        }
    }

    @Test func anExpiredAccountCantLogInAndItsSessionEnds() async throws {
        try await withConsole { client in
            let b = Browser()
            _ = try await b.login(client, "alice", "alice-pw")
            #expect(try await b.get(client, "/").0 == .ok)
            auth.accounts.replace(["alice": .init(expires: "2020-01-31")])
            #expect(try await b.get(client, "/").0 == .seeOther, "the session ended")
            let again = try await b.login(client, "alice", "alice-pw")
            #expect(again.status == .ok && b.cookies["tollgate_session"] == nil)
            #expect(String(buffer: again.body).contains("Your account expired on 2020-01-31"))
            // a day still to come: works
            auth.accounts.replace(["alice": .init(expires: "2999-12-31")])
            #expect(try await b.login(client, "alice", "alice-pw").status == .seeOther)
        }
    }

    @Test func aSessionFromAPersonalTokenEndsWithTheToken() async throws {
        try await withConsole { client in
            let token = try await admin.createToken(user: "alice", label: "ci", lifetime: nil)
            let b = Browser()
            #expect(try await b.login(client, "alice", token.secret).status == .seeOther)
            #expect(try await b.get(client, "/").0 == .ok)
            try await admin.revokeToken(id: token.record.id)
            #expect(try await b.get(client, "/").0 == .seeOther)
        }
    }

    // MARK: tokens

    @Test func formsWithoutTheSessionsTokenChangeNothing() async throws {
        try await withConsole { client in
            let b = Browser()
            _ = try await b.login(client, "alice", "alice-pw")
            try await b.get(client, "/tokens")
            let (missing, _, _) = try await b.post(client, "/tokens", ["label": "x", "expires": "30d"], csrf: false)
            #expect(missing == .forbidden)
            let (wrong, _, _) = try await b.post(client, "/tokens", ["label": "x", "expires": "30d", "csrf": "AAAA"], csrf: false)
            #expect(wrong == .forbidden)
            // bob's form token is not alice's
            let bob = Browser()
            _ = try await bob.login(client, "bob", "bob-pw")
            try await bob.get(client, "/tokens")
            let (crossed, _, _) = try await b.post(
                client, "/tokens", ["label": "x", "expires": "30d", "csrf": bob.csrf!], csrf: false)
            #expect(crossed == .forbidden)
            #expect(try await admin.listTokens(user: "alice").tokens.isEmpty)
        }
    }

    @Test func aNewTokenIsShownOnceWithSnippetsAndWorksAsAPassword() async throws {
        try await withConsole { client in
            let b = Browser()
            _ = try await b.login(client, "alice", "alice-pw")
            try await b.get(client, "/tokens")
            let (status, body, r) = try await b.post(client, "/tokens", ["label": "laptop", "expires": "90d"])
            #expect(status == .created && r.headers[.cacheControl] == "no-store")
            let secret = try #require(body.firstMatch(of: /tgp_[0-9a-f]{16}_[A-Za-z0-9_-]+/)).0
            #expect(body.contains("docker login &#39;mirror.test:5000&#39; -u &#39;alice&#39; --password-stdin"))
            #expect(body.contains("kubectl create secret docker-registry"))
            #expect(body.contains("Authorization = &quot;Basic " + Data("alice:\(secret)".utf8).base64EncodedString()))
            let tokens = try await admin.listTokens(user: "alice").tokens
            #expect(tokens.count == 1 && tokens[0].label == "laptop")
            let expires = try #require(tokens[0].expires)
            #expect(abs(expires.timeIntervalSinceNow - 90 * 86400) < 60)
            // listed afterwards without the secret
            let (_, list, _) = try await b.get(client, "/tokens")
            #expect(list.contains("laptop") && !list.contains(String(secret)))
            // the secret is a password for the registry's login
            let other = Browser()
            #expect(try await other.login(client, "alice", String(secret)).status == .seeOther)
            // and its use shows as "last used"
            #expect(try await admin.listTokens(user: "alice").tokens.first?.lastUsed != nil)
            let (_, used, _) = try await b.get(client, "/tokens")
            #expect(!used.contains("<td>—</td>"), "a last-used time instead of a dash")
        }
    }

    @Test func labelsAndNamesAreEscaped() async throws {
        try await withConsole { client in
            let evil = "<script>alert(1)</script>"
            try await admin.addUser(evil, password: "pw", cost: 4)
            let b = Browser()
            _ = try await b.login(client, evil, "pw")
            try await b.get(client, "/tokens")
            try await b.post(client, "/tokens", ["label": evil, "expires": "30d"])
            for page in ["/", "/tokens"] {
                let (status, body, _) = try await b.get(client, page)
                #expect(status == .ok)
                #expect(!body.contains("<script>alert"), "\(page) renders the string as text")
                #expect(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            }
        }
    }

    @Test func aUserCanRevokeOnlyTheirOwnTokens() async throws {
        try await withConsole { client in
            let bobs = try await admin.createToken(user: "bob", label: "bob's", lifetime: nil)
            let alices = try await admin.createToken(user: "alice", label: "alice's", lifetime: nil)
            let b = Browser()
            _ = try await b.login(client, "alice", "alice-pw")
            try await b.get(client, "/tokens")
            let (status, _, _) = try await b.post(client, "/tokens/\(bobs.record.id)/revoke", [:])
            #expect(status == .notFound)
            #expect(try await admin.listTokens(user: "bob").tokens.count == 1, "bob's token is still there")
            let (ok, _, r) = try await b.post(client, "/tokens/\(alices.record.id)/revoke", [:])
            #expect(ok == .seeOther && r.headers[.location] == "/tokens")
            #expect(try await admin.listTokens(user: "alice").tokens.isEmpty)
        }
    }

    @Test func badFormsGetAClearAnswer() async throws {
        try await withConsole { client in
            let b = Browser()
            _ = try await b.login(client, "alice", "alice-pw")
            try await b.get(client, "/tokens")
            #expect(try await b.post(client, "/tokens", ["label": "", "expires": "30d"]).0 == .badRequest)
            #expect(try await b.post(client, "/tokens", ["label": "x", "expires": "forever"]).0 == .badRequest)
            #expect(try await b.post(client, "/tokens", ["label": String(repeating: "x", count: 101), "expires": "30d"]).0 == .badRequest)
            #expect(try await admin.listTokens(user: "alice").tokens.isEmpty)
        }
    }

    // MARK: usage

    @Test func theUsagePageChartsAndListsTheUsersOwnDaysOnly() async throws {
        try await withConsole { client in
            let today = CivilDate(unixSeconds: Int64(Date().timeIntervalSince1970))
            let old = CivilDate(daysSinceEpoch: today.daysSinceEpoch - 3).description
            var a = UsageRecord(user: "alice", day: old, upstream: "docker.io")
            a.requests = 9; a.pulls = 4; a.bytesSent = 3_000_000; a.hitBytes = 1_000_000; a.upstreamBytes = 2_000_000
            var g = UsageRecord(user: "alice", day: old, upstream: "ghcr.io")
            g.requests = 2; g.pulls = 1
            var bob = UsageRecord(user: "bob", day: old, upstream: "quay.io")
            bob.requests = 77; bob.pulls = 77
            var ancient = UsageRecord(user: "alice", day: CivilDate(daysSinceEpoch: today.daysSinceEpoch - 40).description, upstream: "gcr.io")
            ancient.pulls = 5
            try await database.addUsage([a, g, bob, ancient])
            // not yet flushed: counted too
            ledger.recordRequest(user: UserName("alice")!, upstream: "docker.io", pull: true)

            let b = Browser()
            _ = try await b.login(client, "alice", "alice-pw")
            let (status, body, _) = try await b.get(client, "/activity")
            #expect(status == .ok)
            #expect(body.components(separatedBy: "<svg class=\"chart\"").count == 4, "three charts")
            #expect(body.contains("<td>\(old)</td><td>docker.io</td><td>9</td><td>4</td>"))
            #expect(body.contains("<td>\(today)</td><td>docker.io</td><td>1</td><td>1</td>"), "pending use is shown")
            #expect(body.contains("ghcr.io") && !body.contains("quay.io") && !body.contains("gcr.io</td>"))
            #expect(body.contains("<tfoot><tr><th>Total</th><th></th><th>12</th><th>6</th>"))
            let csv = try await b.get(client, "/activity.csv")
            #expect(csv.0 == .ok && csv.2.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(csv.1.hasPrefix("day,upstream,requests,pulls,bytes_sent,bytes_from_cache,bytes_from_upstream\r\n"))
            #expect(csv.1.contains("\(old),docker.io,9,4,3000000,1000000,2000000\r\n"))
            #expect(!csv.1.contains("quay.io"))
        }
    }

    @Test func theSetupPageIsFilledInForTheMirrorAndTheUser() async throws {
        try await withConsole { client in
            let b = Browser()
            _ = try await b.login(client, "alice", "alice-pw")
            let (status, body, _) = try await b.get(client, "/setup")
            #expect(status == .ok)
            #expect(body.contains("&quot;registry-mirrors&quot;: [&quot;http://mirror.test:5000&quot;]"))
            #expect(body.contains("&quot;insecure-registries&quot;: [&quot;mirror.test:5000&quot;]"), "plain HTTP mirror")
            #expect(body.contains("[host.&quot;http://mirror.test:5000&quot;]"))
            #expect(body.contains("docker login &#39;mirror.test:5000&#39; -u &#39;alice&#39;"))
            #expect(body.contains("registries.conf") && body.contains("GitHub Actions") && body.contains("GitLab CI"))
            #expect(!body.contains("tgp_"), "no secret on the setup page")
        }
    }

    @Test func upstreamLoginsAreSetReplacedAndRemovedWithoutEchoingPasswords() async throws {
        try await withConsole { client in
            try await admin.upstreamLogin(user: "bob", upstream: "docker.io", username: "bobhub", password: "bob-secret")
            let b = Browser()
            _ = try await b.login(client, "alice", "alice-pw")
            let (s0, page0, _) = try await b.get(client, "/credentials")
            #expect(s0 == .ok && page0.contains("Not set") && !page0.contains("bobhub"), "bob's login is not alice's")
            let (s1, page1, _) = try await b.post(
                client, "/credentials/docker.io", ["username": "alicehub", "password": "hub-secret-1"])
            #expect(s1 == .ok && page1.contains("Logged in as <strong>alicehub</strong>"))
            #expect(!page1.contains("hub-secret-1"), "the password is never in a page")
            let stored = try await admin.upstreamLogins(user: "alice")
            #expect(stored.count == 1 && stored[0].username == "alicehub")
            #expect(!String(decoding: stored[0].sealedPassword, as: UTF8.self).contains("hub-secret-1"), "sealed")
            // replace
            _ = try await b.post(client, "/credentials/docker.io", ["username": "alice2", "password": "hub-secret-2"])
            #expect(try await admin.upstreamLogins(user: "alice").map(\.username) == ["alice2"])
            // refused: an unknown upstream, a bad user name, a missing password, no form token
            #expect(try await b.post(client, "/credentials/evil.example", ["username": "x", "password": "y"]).0 == .notFound)
            #expect(try await b.post(client, "/credentials/docker.io", ["username": "a:b", "password": "y"]).0 == .badRequest)
            #expect(try await b.post(client, "/credentials/docker.io", ["username": "x", "password": ""]).0 == .badRequest)
            #expect(
                try await b.post(client, "/credentials/docker.io", ["username": "x", "password": "y"], csrf: false).0 == .forbidden)
            #expect(try await admin.upstreamLogins(user: "alice").map(\.username) == ["alice2"])
            // what the upstream said at the last pull
            let (_, untried, _) = try await b.get(client, "/credentials")
            #expect(untried.contains("Not used by a pull yet."))
            try await database.noteUpstreamSecretResult(
                user: "alice", upstream: "docker.io", .init(accepted: false, at: Date(timeIntervalSince1970: 1_800_000_000)))
            let (_, refused, _) = try await b.get(client, "/credentials")
            #expect(refused.contains("docker.io refused them at the last pull (2027-01-15 08:00 UTC): replace them."))
            // remove
            let (s2, _, r2) = try await b.post(client, "/credentials/docker.io/remove", [:])
            #expect(s2 == .seeOther && r2.headers[.location] == "/credentials")
            #expect(try await admin.upstreamLogins(user: "alice").isEmpty)
            #expect(try await admin.upstreamLogins(user: "bob").count == 1)
        }
    }

    // MARK: admin pages

    /// alice as an admin, logged in.
    func adminBrowser(_ client: any TestClientProtocol) async throws -> Browser {
        _ = try await admin.setUserSettings("alice", .init(role: "admin"))
        auth.accounts.replace(["alice": .init(admin: true)])
        let b = Browser()
        _ = try await b.login(client, "alice", "alice-pw")
        try await b.get(client, "/admin/users")
        return b
    }

    @Test func adminPagesAreForAdminsOnly() async throws {
        try await withConsole { client in
            let b = Browser()
            _ = try await b.login(client, "bob", "bob-pw")
            let (_, home, _) = try await b.get(client, "/")
            #expect(!home.contains("/admin/users"), "no Users link for a user")
            #expect(try await b.get(client, "/admin/users").0 == .forbidden)
            #expect(try await b.get(client, "/admin/user?name=alice").0 == .forbidden)
            #expect(try await b.post(client, "/admin/user/disable", ["name": "alice"]).0 == .forbidden)
            #expect(try await b.post(client, "/admin/users", ["name": "eve", "password": "x"]).0 == .forbidden)
            let eve = try await users.user("eve"), alice = try await users.user("alice")
            #expect(eve == nil && alice?.disabled == false)
        }
    }

    @Test func theUserListSearchesSortsAndPages() async throws {
        try await withConsole { client in
            for i in 0..<120 { _ = try await users.addUser(UserRecord(name: String(format: "ci-%03d", i), passwordHash: "$2y$04$x")) }
            let today = CivilDate(unixSeconds: Int64(Date().timeIntervalSince1970)).description
            var r = UsageRecord(user: "ci-007", day: today, upstream: "docker.io")
            r.requests = 5; r.pulls = 5; r.bytesSent = 5_000_000
            try await database.addUsage([r])
            let b = try await adminBrowser(client)
            let (status, page1, _) = try await b.get(client, "/admin/users")
            #expect(status == .ok && page1.contains("122 user(s)") && page1.contains("page 1 of 3"))
            let (_, found, _) = try await b.get(client, "/admin/users?q=CI-00&sort=pulls")
            #expect(found.contains("10 user(s) matching “ci-00”"))
            let rows = found.components(separatedBy: "<tr><td><a href=").dropFirst()
            #expect(rows.first?.contains(">ci-007</a>") == true, "most pulls first")
            #expect(found.contains("<td>5</td><td>4.8 MiB</td><td>\(today)</td>") || found.contains("<td>5</td><td>4.77 MiB</td>"))
            let (_, page3, _) = try await b.get(client, "/admin/users?q=&sort=name&page=3")
            #expect(page3.contains("page 3 of 3") && page3.contains(">ci-119</a>") && !page3.contains(">ci-000</a>"))
            #expect(try await b.get(client, "/admin/users?page=99").1.contains("page 3 of 3"), "past the end: the last page")
        }
    }

    @Test func anAdminCreatesAUserWithAPasswordShownOnce() async throws {
        try await withConsole { client in
            let b = try await adminBrowser(client)
            let (status, body, r) = try await b.post(client, "/admin/users", ["name": "carol", "password": ""])
            #expect(status == .created && r.headers[.cacheControl] == "no-store")
            let password = try #require(body.firstMatch(of: /<pre id="new-password">([A-Za-z0-9_-]{16})<\/pre>/)).1
            let carol = Browser()
            #expect(try await carol.login(client, "carol", String(password)).status == .seeOther)
            #expect(try await b.post(client, "/admin/users", ["name": "carol", "password": "x"]).0 == .badRequest, "taken")
            #expect(try await b.post(client, "/admin/users", ["name": "a:b", "password": "x"]).0 == .badRequest)
        }
    }

    @Test func anAdminRunsAUsersAccountFromTheirPage() async throws {
        try await withConsole { client in
            let bobSession = Browser()
            _ = try await bobSession.login(client, "bob", "bob-pw")
            _ = try await admin.createToken(user: "bob", label: "ci", lifetime: nil)
            let b = try await adminBrowser(client)
            let (s0, page, _) = try await b.get(client, "/admin/user?name=bob")
            #expect(s0 == .ok && page.contains("<h1>bob</h1>") && page.contains("Revoke all tokens (1)"))
            #expect(page.contains("Delete bob? With the account go: 1 token(s), 0 upstream login(s)"))
            // plan
            let (s1, afterPlan, _) = try await b.post(client, "/admin/user/plan", ["name": "bob", "plan": "anonymous"])
            #expect(s1 == .ok && afterPlan.contains("Plan set to anonymous."))
            #expect(try await database.userSettings().first { $0.user == "bob" }?.plan == "anonymous")
            #expect(try await b.post(client, "/admin/user/plan", ["name": "bob", "plan": "gold"]).0 == .badRequest)
            // overrides and policy: the form is the whole set; the plan choice stays
            let (s2, afterLimits, _) = try await b.post(
                client, "/admin/user/limits",
                [
                    "name": "bob", "pulls_per_6h": "100", "bytes_per_day": "5GiB", "concurrent_transfers": "unlimited",
                    "allow": "docker.io/library/*\r\nghcr.io/org/*", "deny": "docker.io/library/bad*",
                ])
            #expect(s2 == .ok && afterLimits.contains("Limits and access policy saved."))
            #expect(afterLimits.contains(#"name="bytes_per_day" value="5 GiB""#) && afterLimits.contains(#"name="concurrent_transfers" value="unlimited""#))
            var stored = try #require(try await database.userSettings().first { $0.user == "bob" })
            #expect(stored.plan == "anonymous" && stored.overrides == ["pulls_per_6h": .some(100), "bytes_per_day": .some(5 << 30), "concurrent_transfers": Int64?.none])
            #expect(stored.allow == ["docker.io/library/*", "ghcr.io/org/*"] && stored.deny == ["docker.io/library/bad*"])
            let (s3, bad, _) = try await b.post(client, "/admin/user/limits", ["name": "bob", "bytes_per_day": "lots"])
            #expect(s3 == .badRequest && bad.contains("expected a size such as 500MB or 20GiB or unlimited, got lots"))
            #expect(try await b.post(client, "/admin/user/limits", ["name": "bob", "allow": "docker.io//<x>"]).0 == .badRequest)
            _ = try await b.post(client, "/admin/user/limits", ["name": "bob", "pulls_per_6h": "7"])
            stored = try #require(try await database.userSettings().first { $0.user == "bob" })
            #expect(stored.plan == "anonymous" && stored.overrides == ["pulls_per_6h": 7] && stored.allow == nil && stored.deny == nil)
            // end day
            _ = try await b.post(client, "/admin/user/expires", ["name": "bob", "expires": "2027-01-31"])
            #expect(try await database.userSettings().first { $0.user == "bob" }?.expires == "2027-01-31")
            #expect(try await b.post(client, "/admin/user/expires", ["name": "bob", "expires": "soon"]).0 == .badRequest)
            _ = try await b.post(client, "/admin/user/expires", ["name": "bob", "expires": ""])
            #expect(try await database.userSettings().first { $0.user == "bob" }?.expires == nil)
            // revoke tokens, reset the password (shown once; the old one and bob's session end)
            _ = try await b.post(client, "/admin/user/revoke-tokens", ["name": "bob"])
            #expect(try await admin.listTokens(user: "bob").tokens.isEmpty)
            let (_, reset, r) = try await b.post(client, "/admin/user/password", ["name": "bob"])
            #expect(r.headers[.cacheControl] == "no-store")
            let password = try #require(reset.firstMatch(of: /<pre id="new-password">([A-Za-z0-9_-]{16})<\/pre>/)).1
            #expect(try await bobSession.get(client, "/").0 == .seeOther, "bob's session ended with the reset")
            #expect(try await Browser().login(client, "bob", "bob-pw").status == .ok, "old password refused (page again)")
            #expect(try await bobSession.login(client, "bob", String(password)).status == .seeOther)
            // disable: bob's new session ends; enable
            _ = try await b.post(client, "/admin/user/disable", ["name": "bob"])
            #expect(try await users.user("bob")!.disabled)
            #expect(try await bobSession.get(client, "/").0 == .seeOther)
            _ = try await b.post(client, "/admin/user/enable", ["name": "bob"])
            let enabled = try await users.user("bob")
            #expect(enabled?.disabled == false)
            // not on their own account
            #expect(try await b.post(client, "/admin/user/disable", ["name": "alice"]).0 == .badRequest)
            #expect(try await b.post(client, "/admin/user/delete", ["name": "alice"]).0 == .badRequest)
            let stillAlice = try await users.user("alice")
            #expect(stillAlice?.disabled == false)
            // delete
            let (s9, gone, _) = try await b.post(client, "/admin/user/delete", ["name": "bob"])
            #expect(s9 == .ok && gone.contains("Deleted bob"))
            #expect(try await users.user("bob") == nil)
            #expect(try await b.get(client, "/admin/user?name=bob").0 == .notFound)
        }
    }

    @Test func consoleChangesAreAuditedWithTheVisitorAndAddress() async throws {
        try await withConsole { client in
            let b = try await adminBrowser(client)
            _ = try await b.post(client, "/admin/user/plan", ["name": "bob", "plan": "anonymous"])
            try await b.get(client, "/tokens")
            _ = try await b.post(client, "/tokens", ["label": "<b>x</b>", "expires": "30d"])
            let log = try await admin.auditLog(since: .distantPast, limit: 50).filter { $0.actor == "alice" }
            #expect(log.map(\.action) == ["user.set", "token.create"])
            #expect(log.allSatisfy { $0.address == "127.0.0.1" })
            let (status, page, _) = try await b.get(client, "/admin/audit")
            #expect(status == .ok && page.contains("<td>alice</td><td>127.0.0.1</td><td>token.create</td><td>alice</td>"))
            #expect(page.contains("label &lt;b&gt;x&lt;/b&gt;"), "escaped")
            let bob = Browser()
            _ = try await bob.login(client, "bob", "bob-pw")
            #expect(try await bob.get(client, "/admin/audit").0 == .forbidden)
        }
    }

    @Test func theUpstreamsPageShowsTheLastHour() async throws {
        try await withConsole { client in
            let b = try await adminBrowser(client)
            let (s0, quiet, _) = try await b.get(client, "/admin/upstreams")
            #expect(s0 == .ok && quiet.contains("<strong>docker.io</strong>") && quiet.contains("not reported"))
            health.responded(status: 200, latency: .milliseconds(4))
            health.responded(status: 429, latency: .milliseconds(8))
            health.noteRateLimit(remaining: "12;w=21600", limit: "100;w=21600")
            let (_, busy, _) = try await b.get(client, "/admin/upstreams")
            #expect(busy.contains("<td>2</td>") && busy.contains("1 (50.0 %)") && busy.contains("6.0 ms / 8.0 ms"))
            #expect(busy.contains("HTTP 429") && busy.contains("12 of 100"))
            let bob = Browser()
            _ = try await bob.login(client, "bob", "bob-pw")
            #expect(try await bob.get(client, "/admin/upstreams").0 == .forbidden)
        }
    }

    @Test func theCacheBrowserListsRepositoriesAndTheirTags() async throws {
        try await withConsole { client in
            let d = try Digest(parsing: "sha256:" + String(repeating: "ab", count: 32))
            try await database.putManifest(ManifestRecord(digest: d, mediaType: "application/vnd.oci.image.manifest.v1+json", size: 1234))
            for audience in [Audience.shared, .user(UserName("bob")!)] {
                try await database.putLink(LinkRecord(upstream: "docker.io", repository: "library/alpine", digest: d, size: 1234, audience: audience))
                try await database.putTag(
                    TagRecord(upstream: "docker.io", repository: "library/alpine", tag: "3.19", digest: d, fetchedAt: 1_800_000_000, audience: audience))
            }
            let b = try await adminBrowser(client)
            let (_, cache, _) = try await b.get(client, "/admin/cache")
            #expect(cache.contains("Cached repositories (1)"))
            #expect(cache.contains("/admin/cache/repository?upstream=docker.io&amp;name=library%2Falpine\">docker.io/library/alpine</a>"))
            let (status, repo, _) = try await b.get(client, "/admin/cache/repository?upstream=docker.io&name=library%2Falpine")
            #expect(status == .ok && repo.contains("<td>3.19</td>") && repo.contains("1.2 KiB<br><span class=\"muted small\">application/vnd.oci.image.manifest.v1+json</span>"))
            #expect(repo.contains("<td>shared</td>") && repo.contains("<td>user:bob</td>") && repo.contains("2027-01-15 08:00 UTC"))
            #expect(try await b.get(client, "/admin/cache/repository?upstream=evil&name=x").0 == .notFound)
        }
    }

    @Test func theCacheBrowserShowsWhoPulledATagAndEvictsTagsRepositoriesAndUpstreams() async throws {
        try await withConsole { client in
            let d = try Digest(parsing: "sha256:" + String(repeating: "cd", count: 32))
            for (repository, tag) in [("library/alpine", "3.19"), ("library/alpine", "3.20"), ("library/debian", "12")] {
                try await database.putLink(LinkRecord(upstream: "docker.io", repository: repository, digest: d, size: 10))
                try await database.putTag(TagRecord(upstream: "docker.io", repository: repository, tag: tag, digest: d, fetchedAt: 1_800_000_000))
            }
            try await database.recordTagPulls([
                TagPull(upstream: "docker.io", repository: "library/alpine", tag: "3.19", user: "bob", at: 1_800_000_100),
                TagPull(upstream: "docker.io", repository: "library/alpine", tag: "3.19", user: "alice", at: 1_800_003_600),
            ])
            let b = try await adminBrowser(client)
            let (_, repo, _) = try await b.get(client, "/admin/cache/repository?upstream=docker.io&name=library%2Falpine")
            #expect(repo.contains("<td class=\"when\">2027-01-15 09:00 UTC</td><td>2</td>"), "last pulled, by two users")
            #expect(repo.contains("<td class=\"when\">—</td><td>0</td>"), "3.20 never pulled here")
            // A user can't; a form without the session's token changes nothing.
            let bob = Browser()
            _ = try await bob.login(client, "bob", "bob-pw")
            _ = try await bob.get(client, "/")
            #expect(try await bob.post(client, "/admin/cache/evict", ["scope": "docker.io"]).0 == .forbidden)
            #expect(try await b.post(client, "/admin/cache/evict", ["scope": "docker.io"], csrf: false).0 == .forbidden)
            #expect(try await database.tagRecords(upstream: "docker.io", repository: "library/alpine").count == 2)
            // Bad scopes get a clear answer.
            let (badStatus, bad, _) = try await b.post(client, "/admin/cache/evict", ["scope": "docker.io/Library/x"])
            #expect(badStatus == .badRequest && bad.contains("is not a repository name"))
            let (unknownStatus, unknown, _) = try await b.post(client, "/admin/cache/evict", ["scope": "<b>evil.example"])
            #expect(unknownStatus == .badRequest && unknown.contains("&lt;b&gt;evil.example: no such upstream"))
            #expect(evictedCalls.value.withLock { $0 } == 0)
            // A tag: back to the repository's page.
            let (tagStatus, afterTag, _) = try await b.post(client, "/admin/cache/evict", ["scope": "docker.io/library/alpine:3.19"])
            #expect(tagStatus == .ok && afterTag.contains("Evicted docker.io/library/alpine:3.19: 1 tag record(s)"))
            #expect(afterTag.contains("<td>3.20</td>") && !afterTag.contains("<td>3.19</td>"))
            #expect(evictedCalls.value.withLock { $0 } == 1)
            // A repository, then the upstream: to the cache page.
            let (_, afterRepo, _) = try await b.post(client, "/admin/cache/evict", ["scope": "docker.io/library/alpine"])
            #expect(afterRepo.contains("Evicted docker.io/library/alpine: 1 tag record(s)"))
            #expect(try await database.tagRecords(upstream: "docker.io", repository: "library/alpine").isEmpty)
            let (_, afterAll, _) = try await b.post(client, "/admin/cache/evict", ["scope": "docker.io"])
            #expect(afterAll.contains("Evicted docker.io: 1 tag record(s)") && afterAll.contains("Cached repositories (0)"))
            let log = try await admin.auditLog(since: .distantPast, limit: 50).filter { $0.action == "cache.evict" }
            #expect(log.map(\.target) == ["docker.io/library/alpine:3.19", "docker.io/library/alpine", "docker.io"])
            #expect(log.allSatisfy { $0.actor == "alice" && $0.address == "127.0.0.1" })
            #expect(try await database.evictions(after: 0).map(\.scope) == log.map(\.target))
        }
    }

    @Test func theCachePageShowsSizeHitsAndShares() async throws {
        try await withConsole { client in
            let today = CivilDate(unixSeconds: Int64(Date().timeIntervalSince1970)).description
            var r = UsageRecord(user: "bob", day: today, upstream: "docker.io")
            r.bytesSent = 4000; r.hitBytes = 3000; r.upstreamBytes = 1000
            try await database.addUsage([r])
            let b = try await adminBrowser(client)
            let (status, page, _) = try await b.get(client, "/admin/cache")
            #expect(status == .ok && page.contains("<p class=\"figure\">75 %</p>") && page.contains("no limit (storage.max_size)"))
            let bob = Browser()
            _ = try await bob.login(client, "bob", "bob-pw")
            #expect(try await bob.get(client, "/admin/cache").0 == .forbidden)
        }
    }

    // MARK: placement

    @Test func theConsoleCanLiveUnderAPathPrefix() async throws {
        try await withConsole(prefix: "/console") { client in
            let b = Browser(prefix: "/console")
            let login = try await b.login(client, "alice", "alice-pw")
            #expect(login.status == .seeOther && login.headers[.location] == "/console/")
            #expect(login.headers[values: .setCookie].contains { $0.hasPrefix("tollgate_session=") && $0.contains("Path=/console") })
            let (status, body, _) = try await b.get(client, "/")
            #expect(status == .ok && body.contains(#"href="/console/static/console.css""#))
            #expect(try await client.execute(uri: "/login", method: .get).status == .notFound)
            let css = try await client.execute(uri: "/console/static/console.css", method: .get)
            #expect(css.status == .ok && css.headers[.contentType] == "text/css; charset=utf-8")
        }
    }
}

/// The pure parts: meters and snippets.
struct ConsoleValueTests {
    @Test func metersShowUseLimitAndReset() {
        let limits = EffectiveLimits(plan: "p", limits: PlanLimits([.pullsPer6h: 10, .bytesPerDay: 1000]))
        let status = LimitStatus(
            limits: limits,
            windows: [
                .init(start: 0, used: 10, secondsLeft: 60), .init(start: 0, used: 250, secondsLeft: 120),
                .init(start: 0, used: 5, secondsLeft: 3600),
            ], requestsRemaining: nil, activeTransfers: 2, reservedBytes: 0)
        let meters = Dictionary(uniqueKeysWithValues: Meter.meters(status, now: 1000).map { ($0.key, $0) })
        let pulls = meters["pulls_per_6h"]!
        #expect(pulls.reached && pulls.percent == 100 && pulls.resetsAt == 1060 && pulls.limitText == "10")
        let day = meters["bytes_per_day"]!
        #expect(!day.reached && day.percent == 25 && day.resetsAt == 1120)
        let month = meters["bytes_per_month"]!
        #expect(month.limit == nil && month.limitText == "unlimited" && month.percent == 0 && !month.reached)
        #expect(meters["concurrent_transfers"]!.used == 2)
    }

    @Test func chartsAndCSVEscapeWhatTheyShow() {
        let svg = StackedBarChart.svg(
            title: "a<b", days: ["2026-01-01", "2026-01-02"],
            series: [UsageHistory.Series(name: "x\"><script>", values: [1, 3])]) { "\($0)" }
        #expect(!svg.contains("<script>") && svg.contains("x&quot;&gt;&lt;script&gt;") && svg.contains("a&lt;b"))
        #expect(svg.contains("height=\"146.0\""), "the tallest bar fills the plot")
        #expect(UsageHistory.csvField("=cmd()") == "\"'=cmd()\"" && UsageHistory.csvField("a,b") == "\"a,b\"")
    }

    @Test func snippetsQuoteShellWords() {
        #expect(SetupSnippets.quote("it's") == #"'it'\''s'"#)
        let s = SetupSnippets(origin: "https://m.example/", user: "o'neil", secret: "tgp_x")
        #expect(s.host == "m.example")
        #expect(s.forToken[0].text == #"echo 'tgp_x' | docker login 'm.example' -u 'o'\''neil' --password-stdin"#)
    }
}
