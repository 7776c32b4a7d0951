import Foundation
import HTTPTypes
import Hummingbird
import Logging
import RegistryCore
import TollgateAdmin
import TollgateAuth
import TollgateLimits
import TollgateUpstream

/// The web console (`/` beside `/v2/`): server-rendered pages for a user's limits and tokens,
/// behind a login with a session cookie. It calls the same use cases as the CLI (`Admin`) and the
/// same login as the registry (`Authenticator`, with its lockout), so it works the same on one
/// node and in a cluster.
public struct Console<Context: ConsoleRequestContext>: Sendable {
    public let auth: Authenticator
    public let sessions: WebSessions
    public let admin: Admin
    /// nil with `limits.enabled: false`.
    public let limiter: (any Limiter)?
    /// Usage counted but not yet written (nil with limits off).
    public let ledger: UsageLedger?
    /// Each configured upstream's last hour as this process saw it, in configuration order.
    public let upstreamHealth: [(name: String, url: String, health: UpstreamHealth)]
    /// `public_url` without a trailing slash (else each request's origin).
    public let publicURL: String?
    /// "" or a path such as "/console" (no trailing slash).
    public let prefix: String
    /// Called after an admin's eviction: the running cache applies the order to its memory now.
    let evicted: @Sendable () async -> Void
    /// A cluster node: the cache pages show this node's share.
    let clustered: Bool
    let logger: Logger

    public init(
        auth: Authenticator, sessions: WebSessions, admin: Admin, limiter: (any Limiter)?, ledger: UsageLedger?,
        upstreamHealth: [(name: String, url: String, health: UpstreamHealth)] = [], publicURL: String?, prefix: String,
        clustered: Bool = false, evicted: @escaping @Sendable () async -> Void = {}, logger: Logger
    ) {
        self.clustered = clustered
        self.evicted = evicted
        self.ledger = ledger
        self.upstreamHealth = upstreamHealth
        self.auth = auth
        self.sessions = sessions
        self.admin = admin
        self.limiter = limiter
        self.publicURL = publicURL
        self.prefix = prefix
        self.logger = logger
    }

    static var sessionCookie: String { "tollgate_session" }
    static var loginCookie: String { "tollgate_login" }
    /// Form bodies are small: a label, a password.
    static var maxForm: Int { 16 * 1024 }

    public func addRoutes(to router: Router<Context>) {
        let group = prefix.isEmpty ? router.group() : router.group(RouterPath(prefix))
        group.add(middleware: ConsoleHeaders<Context>())
        group.get("/") { request, context in await page(request, context) { try await overview($0, $1, $2) } }
        group.get("/tokens") { request, context in await page(request, context) { try await tokens($0, $1, $2) } }
        group.get("/credentials") { request, context in
            await page(request, context) { try await credentialsPage($2, error: nil, notice: nil, status: .ok) }
        }
        group.post("/credentials/:upstream") { request, context in
            await action(request, context) { try await setCredentials($0, $1, $2, $3) }
        }
        group.post("/credentials/:upstream/remove") { request, context in
            await action(request, context) { try await removeCredentials($0, $1, $2, $3) }
        }
        group.get("/setup") { request, context in await page(request, context) { try await setup($0, $1, $2) } }
        group.get("/activity") { request, context in await page(request, context) { try await usage($0, $1, $2) } }
        group.get("/activity.csv") { request, context in await page(request, context) { try await usageCSV($0, $1, $2) } }
        group.post("/tokens") { request, context in await action(request, context) { try await createToken($0, $1, $2, $3) } }
        group.post("/tokens/:id/revoke") { request, context in
            await action(request, context) { try await revokeToken($0, $1, $2, $3) }
        }
        group.get("/login") { request, context in loginPage(request, context, error: nil, username: "", status: .ok) }
        group.post("/login") { request, context in await login(request, context) }
        group.post("/logout") { request, context in await action(request, context) { try await logout($0, $1, $2, $3) } }
        group.get("/static/console.css") { _, _ in asset(ConsoleAssets.css, type: "text/css; charset=utf-8") }
        group.get("/static/console.js") { _, _ in asset(ConsoleAssets.js, type: "text/javascript; charset=utf-8") }
        group.get("/static/favicon.svg") { _, _ in asset(ConsoleAssets.favicon, type: "image/svg+xml") }
        addAdminRoutes(to: group)
    }

    // MARK: Sessions

    /// The signed-in user of a request: the session, its secret (for form tokens) and the user.
    struct Visitor {
        var session: SecretTokenRecord
        var secret: String
        var user: UserName
        var formToken: String { WebSessions.formToken(for: secret) }
    }

    func visitor(_ request: Request) async throws -> Visitor? {
        guard let secret = request.cookies[Self.sessionCookie]?.value, !secret.isEmpty,
            let session = try await sessions.current(secret), let user = UserName(session.user)
        else { return nil }
        return Visitor(session: session, secret: secret, user: user)
    }

    /// A page for a signed-in user; anyone else goes to the login page.
    func page(
        _ request: Request, _ context: Context,
        _ body: (Request, Context, Visitor) async throws -> Response
    ) async -> Response {
        do {
            guard let visitor = try await visitor(request) else { return toLogin(request, context) }
            return try await body(request, context, visitor)
        } catch {
            return failure(error)
        }
    }

    /// A form post by a signed-in user: the session's form token must come with it (else 403
    /// and nothing changes).
    func action(
        _ request: Request, _ context: Context,
        _ body: (Request, Context, Visitor, [String: String]) async throws -> Response
    ) async -> Response {
        do {
            guard let visitor = try await visitor(request) else { return toLogin(request, context) }
            guard let form = try await form(request) else {
                return message(.badRequest, "Bad form", "The form could not be read.", visitor)
            }
            guard WebSessions.formTokenMatches(form["csrf"], secret: visitor.secret) else {
                return message(
                    .forbidden, "Form expired",
                    "This form did not come from your current session. Reload the page and try again.", visitor)
            }
            return try await body(request, context, visitor, form)
        } catch {
            return failure(error)
        }
    }

    /// The admin use cases, done by the visitor from their address (the audit log's who and where).
    func admin(_ visitor: Visitor, _ context: Context) -> Admin {
        admin.acting(as: Admin.Actor(name: visitor.user.value, address: context.clientAddress ?? "-"))
    }

    func form(_ request: Request) async throws -> [String: String]? {
        guard let type = request.headers[.contentType]?.lowercased(),
            type.hasPrefix("application/x-www-form-urlencoded")
        else { return nil }
        var request = request
        guard let body = try? await request.collectBody(upTo: Self.maxForm) else { return nil }
        return FormURLEncoding.fields(String(buffer: body))
    }

    // MARK: Login

    func loginPage(_ request: Request, _ context: Context, error: String?, username: String, status: HTTPResponse.Status)
        -> Response
    {
        let token = SecretTokens.randomBase64URL(32)
        var values: [String: Any] = ["username": username, "csrf": token]
        if let error { values["error"] = error }
        var response = render("login", title: "Log in", values, visitor: nil, status: status)
        response.setCookie(cookie(Self.loginCookie, token, maxAge: 3600, context))
        return response
    }

    func login(_ request: Request, _ context: Context) async -> Response {
        do {
            guard let form = try await form(request), let user = form["username"], let password = form["password"] else {
                return loginPage(request, context, error: "Enter your user name and password.", username: "", status: .badRequest)
            }
            // The login form is tied to this browser by a cookie it set (no session exists yet):
            // another site can't log a visitor in to an account of its choosing.
            guard let expected = request.cookies[Self.loginCookie]?.value, let presented = form["csrf"],
                presented.utf8.count < 100, Array(presented.utf8) == Array(expected.utf8)
            else {
                return loginPage(
                    request, context, error: "The login form expired. Please try again.", username: user, status: .forbidden)
            }
            switch await auth.login(user: user, password: password, client: context.clientAddress) {
            case .ok(let identity, let via):
                guard let name = identity.user else { break }
                let viaToken: String? = if case .personalToken(let id, _) = via { id } else { nil }
                let secret = try await sessions.start(user: name.value, viaToken: viaToken, client: context.clientAddress)
                logger.info("console login", metadata: ["user": "\(name)", "client": "\(context.clientAddress ?? "-")"])
                var response = redirect(prefix + "/")
                response.setCookie(cookie(Self.sessionCookie, secret, maxAge: Int(WebSessions.absolute), context))
                response.setCookie(cookie(Self.loginCookie, "", maxAge: 0, context))
                return response
            case .invalid: break
            case .locked(let seconds):
                return loginPage(
                    request, context, error: "Too many failed logins. Try again in \(seconds) seconds.", username: user,
                    status: .tooManyRequests)
            case .expired(let day):
                return loginPage(
                    request, context, error: "Your account expired on \(day). Ask the mirror's admin to renew it.",
                    username: user, status: .ok)
            case .unavailable:
                return loginPage(
                    request, context, error: "Logins can't be checked right now. Try again shortly.", username: user,
                    status: .serviceUnavailable)
            }
            // 200: the page is the answer (a browser logs a 401 as a console error).
            return loginPage(request, context, error: "Wrong user name or password.", username: user, status: .ok)
        } catch {
            return failure(error)
        }
    }

    func logout(_ request: Request, _ context: Context, _ visitor: Visitor, _ form: [String: String]) async throws
        -> Response
    {
        try await sessions.end(visitor.session)
        var response = redirect(prefix + "/login")
        response.setCookie(cookie(Self.sessionCookie, "", maxAge: 0, context))
        return response
    }

    func toLogin(_ request: Request, _ context: Context) -> Response {
        var response = redirect(prefix + "/login")
        if request.cookies[Self.sessionCookie] != nil { response.setCookie(cookie(Self.sessionCookie, "", maxAge: 0, context)) }
        return response
    }

    // MARK: Pages

    func overview(_ request: Request, _ context: Context, _ visitor: Visitor) async throws -> Response {
        var values: [String: Any] = ["mirror": mirrorHost(context)]
        if let limiter {
            let now = limiter.clock.wall()
            let status = await limiter.status(.user(visitor.user))
            let meters = Meter.meters(status, now: now)
            values["plan"] = status.limits.plan
            values["meters"] = meters.map { m -> [String: Any] in
                var v: [String: Any] = [
                    "key": m.key, "title": m.title, "used": m.usedText, "limit": m.limitText, "percent": m.percent,
                    "bounded": m.limit != nil, "reached": m.reached,
                ]
                if let at = m.resetsAt { v["resets"] = ["iso": Self.iso(at), "text": Self.utcText(at)] }
                return v
            }
            values["reached"] = meters.filter(\.reached).map { m in
                "Limit reached: \(m.title.lowercased()) (\(m.limitText))"
                    + (m.resetsAt.map { ". It starts again \(Self.utcText($0))." } ?? ".")
            }
        } else {
            values["plan"] = "none (limits are off on this mirror)"
        }
        return render("overview", title: "Overview", values, visitor: visitor, nav: "overview")
    }

    func setup(_ request: Request, _ context: Context, _ visitor: Visitor) async throws -> Response {
        let snippets = SetupSnippets(origin: mirrorOrigin(context), user: visitor.user.value, secret: "YOUR_TOKEN")
            .forSetup(upstreams: admin.policy.upstreams)
        let values: [String: Any] = [
            "mirror": mirrorHost(context), "upstreams": admin.policy.upstreams,
            "snippets": snippets.enumerated().map { i, s in ["id": "setup-\(i)", "title": s.title, "text": s.text] },
        ]
        return render("setup", title: "Setup", values, visitor: visitor, nav: "setup")
    }

    func credentialsPage(_ visitor: Visitor, error: String?, notice: String?, status: HTTPResponse.Status) async throws
        -> Response
    {
        let mine = Dictionary(
            try await admin.upstreamLogins(user: visitor.user.value).map { ($0.upstream, $0) }, uniquingKeysWith: { a, _ in a })
        var values: [String: Any] = [
            "upstreams": admin.policy.upstreams.map { name -> [String: Any] in
                var v: [String: Any] = ["name": name]
                if let r = mine[name] {
                    v["username"] = r.username
                    v["since"] = Self.utcText(r.created)
                    if let last = r.lastResult {
                        v["checked"] =
                            last.accepted
                            ? "\(name) accepted them at the last pull (\(Self.utcText(last.at)))."
                            : "\(name) refused them at the last pull (\(Self.utcText(last.at))): replace them."
                        v["refused"] = !last.accepted
                    }
                }
                return v
            }
        ]
        if let error { values["error"] = error }
        if let notice { values["notice"] = notice }
        return render("credentials", title: "Upstream logins", values, visitor: visitor, nav: "credentials", status: status)
    }

    func setCredentials(_ request: Request, _ context: Context, _ visitor: Visitor, _ form: [String: String]) async throws
        -> Response
    {
        let upstream = context.parameters.get("upstream") ?? ""
        guard admin.policy.upstreams.contains(upstream) else {
            return message(.notFound, "No such upstream", "This mirror has no upstream of that name.", visitor)
        }
        let username = (form["username"] ?? "").trimmingCharacters(in: .whitespaces)
        guard let password = form["password"], !password.isEmpty else {
            return try await credentialsPage(visitor, error: "Enter the password for \(upstream).", notice: nil, status: .badRequest)
        }
        do {
            try await admin(visitor, context).upstreamLogin(
                user: visitor.user.value, upstream: upstream, username: username, password: password)
        } catch let error as AdminError {
            let text = error.description.replacingOccurrences(of: "--username: ", with: "User name: ")
            return try await credentialsPage(visitor, error: text, notice: nil, status: .badRequest)
        }
        logger.info("console upstream login set", metadata: ["user": "\(visitor.user)", "upstream": "\(upstream)"])
        return try await credentialsPage(
            visitor, error: nil, notice: "Saved: your pulls from \(upstream) use \(username) from now on.", status: .ok)
    }

    func removeCredentials(_ request: Request, _ context: Context, _ visitor: Visitor, _ form: [String: String]) async throws
        -> Response
    {
        let upstream = context.parameters.get("upstream") ?? ""
        guard admin.policy.upstreams.contains(upstream),
            try await admin.upstreamLogins(user: visitor.user.value).contains(where: { $0.upstream == upstream })
        else { return message(.notFound, "No such login", "You have no login for that upstream.", visitor) }
        try await admin(visitor, context).upstreamLogout(user: visitor.user.value, upstream: upstream)
        logger.info("console upstream login removed", metadata: ["user": "\(visitor.user)", "upstream": "\(upstream)"])
        return redirect(prefix + "/credentials")
    }

    static var usageDays: Int { 30 }

    func history(_ user: UserName) async throws -> UsageHistory {
        let now = limiter?.clock.wall() ?? Int64(Date().timeIntervalSince1970)
        let today = CivilDate(unixSeconds: now)
        let first = CivilDate(daysSinceEpoch: today.daysSinceEpoch - Int64(Self.usageDays - 1))
        var records = try await admin.stores.usageLedger.usage(since: first.description, user: user.value)
        records += ledger?.pending(user: user) ?? []
        return UsageHistory(records: records, lastDay: today, count: Self.usageDays)
    }

    func usage(_ request: Request, _ context: Context, _ visitor: Visitor) async throws -> Response {
        let h = try await history(visitor.user)
        let bytes = { (n: Int64) in ByteCount.format(n) }
        func row(_ r: UsageRecord) -> [String: Any] {
            [
                "day": r.day, "upstream": r.upstream, "requests": r.requests, "pulls": r.pulls, "bytes": bytes(r.bytesSent),
                "hit": bytes(r.hitBytes), "fetched": bytes(r.upstreamBytes),
            ]
        }
        // The table's rows are made here, escaped, not by the template: a section of 150 rows is most
        // of what Mustache's dynamic lookups would cost for this page.
        var rowsHTML = ""
        for r in h.rows {
            let cells = [r.day, r.upstream, "\(r.requests)", "\(r.pulls)", bytes(r.bytesSent), bytes(r.hitBytes), bytes(r.upstreamBytes)]
            rowsHTML += "<tr>" + cells.map { "<td>" + StackedBarChart.escape($0) + "</td>" }.joined() + "</tr>\n"
        }
        let values: [String: Any] = [
            "days": Self.usageDays, "rowsHTML": rowsHTML, "hasRows": !rowsHTML.isEmpty, "total": row(h.total),
            "pullsChart": StackedBarChart.svg(title: "Pulls per day", days: h.days, series: h.pullsByUpstream) { "\($0)" },
            "bytesChart": StackedBarChart.svg(title: "Bytes per day", days: h.days, series: h.bytesByUpstream, format: bytes),
            "sourceChart": StackedBarChart.svg(
                title: "Bytes from the cache and from upstream", days: h.days, series: h.total.bytesSent > 0 ? h.bytesBySource : [],
                format: bytes),
        ]
        return render("usage", title: "Usage", values, visitor: visitor, nav: "usage")
    }

    func usageCSV(_ request: Request, _ context: Context, _ visitor: Visitor) async throws -> Response {
        let csv = try await history(visitor.user).csv
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/csv; charset=utf-8",
                .contentDisposition: "attachment; filename=\"tollgate-usage.csv\"",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(string: csv)))
    }

    func tokens(_ request: Request, _ context: Context, _ visitor: Visitor) async throws -> Response {
        try await tokensPage(context, visitor, created: nil, error: nil, status: .ok)
    }

    func tokensPage(
        _ context: Context, _ visitor: Visitor, created: [String: Any]?, error: String?, status: HTTPResponse.Status
    ) async throws -> Response {
        let list = try await admin.listTokens(user: visitor.user.value).tokens.sorted { $0.created > $1.created }
        let rows = list.map { t -> [String: Any] in
            [
                "id": t.id, "label": t.label, "created": Self.utcText(t.created),
                "expires": t.expires.map(Self.utcText) ?? "never", "lastUsed": t.lastUsed.map(Self.utcText) ?? "—",
            ]
        }
        var values: [String: Any] = ["tokens": rows, "hasTokens": !rows.isEmpty]
        if let created { values["created"] = created }
        if let error { values["error"] = error }
        var response = render("tokens", title: "Tokens", values, visitor: visitor, nav: "tokens", status: status)
        if created != nil { response.headers[.cacheControl] = "no-store" }
        return response
    }

    func createToken(_ request: Request, _ context: Context, _ visitor: Visitor, _ form: [String: String]) async throws
        -> Response
    {
        let label = (form["label"] ?? "").trimmingCharacters(in: .whitespaces)
        guard !label.isEmpty, label.utf8.count <= 100 else {
            return try await tokensPage(context, visitor, created: nil, error: "A label of 1 to 100 bytes, please.", status: .badRequest)
        }
        guard let choice = form["expires"], let lifetime = TokenLifetimes.choices[choice] else {
            return try await tokensPage(context, visitor, created: nil, error: "Choose when the token expires.", status: .badRequest)
        }
        let made: (record: SecretTokenRecord, secret: String)
        do {
            made = try await admin(visitor, context).createToken(user: visitor.user.value, label: label, lifetime: lifetime)
        } catch let error as AdminError {
            return try await tokensPage(context, visitor, created: nil, error: error.description, status: .badRequest)
        }
        logger.info("console token created", metadata: ["user": "\(visitor.user)", "token": "\(made.record.id)"])
        let snippets = SetupSnippets(
            origin: mirrorOrigin(context), user: visitor.user.value, secret: made.secret)
        return try await tokensPage(
            context, visitor,
            created: [
                "label": label, "secret": made.secret,
                "snippets": snippets.forToken.enumerated().map { i, s in ["id": "snippet-\(i)", "title": s.title, "text": s.text] },
            ], error: nil, status: .created)
    }

    func revokeToken(_ request: Request, _ context: Context, _ visitor: Visitor, _ form: [String: String]) async throws
        -> Response
    {
        let id = context.parameters.get("id") ?? ""
        // Only the visitor's own tokens: any other id is unknown here.
        let own = try await admin.listTokens(user: visitor.user.value).tokens
        guard own.contains(where: { $0.id == id }) else {
            return message(.notFound, "No such token", "You have no token with that id.", visitor)
        }
        try await admin(visitor, context).revokeToken(id: id)
        logger.info("console token revoked", metadata: ["user": "\(visitor.user)", "token": "\(id)"])
        return redirect(prefix + "/tokens")
    }

    // MARK: Responses

    func render(
        _ template: String, title: String, _ values: [String: Any], visitor: Visitor?, nav: String? = nil,
        status: HTTPResponse.Status = .ok
    ) -> Response {
        var values = values
        var layout: [String: Any] = ["title": title, "prefix": prefix]
        values["prefix"] = prefix
        if let visitor {
            let formToken = visitor.formToken
            values["user"] = visitor.user.value
            values["csrf"] = formToken
            layout["user"] = visitor.user.value
            layout["csrf"] = formToken
            layout["admin"] = isAdmin(visitor)
        }
        layout["body"] = ConsoleTemplates.library.render(values, withTemplate: template) ?? ""
        if let nav { layout["nav"] = [nav: true] }
        let html = ConsoleTemplates.library.render(layout, withTemplate: "layout") ?? ""
        return Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    func message(_ status: HTTPResponse.Status, _ title: String, _ text: String, _ visitor: Visitor?) -> Response {
        render("message", title: title, ["title": title, "text": text], visitor: visitor, status: status)
    }

    func failure(_ error: any Error) -> Response {
        if error is any StoreUnreachable {
            return message(.serviceUnavailable, "Unavailable", "degraded: database unreachable. Try again shortly.", nil)
        }
        logger.error("console request failed", metadata: ["error": "\(error)"])
        return message(.internalServerError, "Something went wrong", "The request failed; it is logged.", nil)
    }

    func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location.isEmpty ? "/" : location])
    }

    func asset(_ text: String, type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=3600"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    func cookie(_ name: String, _ value: String, maxAge: Int, _ context: Context) -> Cookie {
        Cookie(
            name: name, value: value, maxAge: maxAge, path: prefix.isEmpty ? "/" : prefix,
            secure: mirrorOrigin(context).hasPrefix("https://"), httpOnly: true, sameSite: .strict)
    }

    /// The mirror's URL for snippets: `public_url`, else where the browser reached it.
    func mirrorOrigin(_ context: Context) -> String { publicURL ?? context.consoleOrigin ?? "http://localhost:5000" }

    func mirrorHost(_ context: Context) -> String {
        let origin = mirrorOrigin(context)
        guard let r = origin.range(of: "://") else { return origin }
        return String(origin[r.upperBound...])
    }

    /// `2026-12-07T06:00:00Z` (a `<time datetime>`).
    static func iso(_ unix: Int64) -> String { CivilDate.timestamp(unix) }

    /// `2026-12-07 06:00 UTC`.
    static func utcText(_ unix: Int64) -> String {
        let t = CivilDate.timestamp(unix)  // 2026-12-07T06:00:00Z
        return t.prefix(10) + " " + t.dropFirst(11).prefix(5) + " UTC"
    }

    static func utcText(_ date: Date) -> String { utcText(Int64(date.timeIntervalSince1970.rounded(.down))) }
}

/// The token form's expiry choices.
enum TokenLifetimes {
    static let choices: [String: Duration?] = [
        "30d": .seconds(30 * 86400), "90d": .seconds(90 * 86400), "365d": .seconds(365 * 86400), "never": nil,
    ]
}

/// Security headers on every console response: no framing, no other origin's scripts or styles,
/// no sniffing, no referrer beyond the mirror.
struct ConsoleHeaders<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = "default-src 'self'; frame-ancestors 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.referrerPolicy] = "same-origin"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-cache" }
        return response
    }
}

extension HTTPField.Name {
    static let contentSecurityPolicy = Self("Content-Security-Policy")!
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}
