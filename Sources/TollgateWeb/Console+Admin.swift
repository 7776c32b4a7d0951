import Foundation
import HTTPTypes
import Hummingbird
import RegistryCore
import TollgateAdmin
import TollgateAuth
import TollgateLimits
import TollgateProxy

/// The admin pages (`tollgate user set NAME --role admin`): the users, and one user's page with
/// the same actions as `tollgate user …`. Anyone else gets 403.
extension Console {
    func addAdminRoutes(to group: RouterGroup<Context>) {
        group.get("/admin/users") { request, context in await adminPage(request, context) { try await users($0, $1, $2) } }
        group.post("/admin/users") { request, context in await adminAction(request, context) { try await createUser($0, $1, $2) } }
        group.get("/admin/user") { request, context in
            await adminPage(request, context) { request, _, visitor in
                try await userPage(request.uri.queryParameters["name"].map(String.init) ?? "", visitor, notice: nil, error: nil)
            }
        }
        group.get("/admin/cache") { request, context in
            await adminPage(request, context) { _, _, visitor in try await cachePage(visitor) }
        }
        group.get("/admin/cache/repository") { request, context in
            await adminPage(request, context) { request, _, visitor in
                let q = request.uri.queryParameters
                return try await repositoryPage(
                    visitor, upstream: q["upstream"].map(String.init) ?? "", repository: q["name"].map(String.init) ?? "")
            }
        }
        group.post("/admin/cache/evict") { request, context in
            await adminAction(request, context) { try await evict($0, $1, $2) }
        }
        group.get("/admin/upstreams") { request, context in
            await adminPage(request, context) { _, _, visitor in upstreamsPage(visitor) }
        }
        group.get("/admin/audit") { request, context in
            await adminPage(request, context) { _, _, visitor in try await auditPage(visitor) }
        }
        for action in ["plan", "limits", "expires", "role", "disable", "enable", "password", "revoke-tokens", "delete"] {
            group.post(RouterPath("/admin/user/" + action)) { request, context in
                await adminAction(request, context) { try await userAction(action, $0, $1, $2) }
            }
        }
    }

    func isAdmin(_ visitor: Visitor) -> Bool { auth.accounts.isAdmin(visitor.user.value) }

    func adminsOnly(_ visitor: Visitor) -> Response {
        message(.forbidden, "Admins only", "This page is for the mirror's admins.", visitor)
    }

    func adminPage(
        _ request: Request, _ context: Context, _ body: (Request, Context, Visitor) async throws -> Response
    ) async -> Response {
        await page(request, context) { request, context, visitor in
            guard isAdmin(visitor) else { return adminsOnly(visitor) }
            return try await body(request, context, visitor)
        }
    }

    func adminAction(
        _ request: Request, _ context: Context, _ body: (Context, Visitor, [String: String]) async throws -> Response
    ) async -> Response {
        await action(request, context) { _, context, visitor, form in
            guard isAdmin(visitor) else { return adminsOnly(visitor) }
            return try await body(context, visitor, form)
        }
    }

    // MARK: the users

    static var usersPerPage: Int { 50 }

    enum UserSort: String, CaseIterable {
        case name, plan, pulls, bytes, seen
        var label: String {
            switch self {
            case .name: "name"
            case .plan: "plan"
            case .pulls: "pulls today"
            case .bytes: "bytes this month"
            case .seen: "last seen"
            }
        }
    }

    func users(_ request: Request, _ context: Context, _ visitor: Visitor) async throws -> Response {
        try await usersPage(request, visitor, notice: nil, error: nil, created: nil, status: .ok)
    }

    func usersPage(
        _ request: Request?, _ visitor: Visitor, notice: String?, error: String?, created: (String, String)?,
        status: HTTPResponse.Status
    ) async throws -> Response {
        let query = request?.uri.queryParameters
        let q = String((query?["q"].map(String.init) ?? "").prefix(255)).lowercased()
        let sort = query?["sort"].flatMap { UserSort(rawValue: String($0)) } ?? .name
        let now = limiter?.clock.wall() ?? Int64(Date().timeIntervalSince1970)
        var all = try await admin.userDirectory(now: now)
        if !q.isEmpty { all = all.filter { $0.name.lowercased().contains(q) } }
        switch sort {
        case .name: break
        case .plan: all.sort { ($0.plan, $0.name) < ($1.plan, $1.name) }
        case .pulls: all.sort { ($1.pullsToday, $0.name) < ($0.pullsToday, $1.name) }
        case .bytes: all.sort { ($1.bytesThisMonth, $0.name) < ($0.bytesThisMonth, $1.name) }
        case .seen: all.sort { ($1.lastSeen ?? "", $0.name) < ($0.lastSeen ?? "", $1.name) }
        }
        let pages = max(1, (all.count + Self.usersPerPage - 1) / Self.usersPerPage)
        let page = min(max(1, query?["page"].flatMap { Int(String($0)) } ?? 1), pages)
        let shown = all.dropFirst((page - 1) * Self.usersPerPage).prefix(Self.usersPerPage)
        func link(_ p: Int) -> String {
            "q=\(FormURLEncoding.encode(q))&sort=\(sort.rawValue)&page=\(p)"
        }
        var values: [String: Any] = [
            "q": q, "count": all.count, "page": page, "pages": pages,
            "sorts": UserSort.allCases.map { ["value": $0.rawValue, "label": $0.label, "selected": $0 == sort] },
            "users": shown.map { u -> [String: Any] in
                var state: [String] = []
                if u.disabled { state.append("disabled") }
                if u.admin { state.append("admin") }
                if let e = u.expires { state.append(auth.accounts.expired(u.name) != nil ? "expired \(e)" : "until \(e)") }
                return [
                    "name": u.name, "urlName": FormURLEncoding.encode(u.name), "plan": u.plan,
                    "state": state.isEmpty ? "active" : state.joined(separator: ", "), "pulls": u.pullsToday,
                    "bytes": ByteCount.format(u.bytesThisMonth), "seen": u.lastSeen ?? "—",
                ]
            },
        ]
        if page > 1 { values["prev"] = link(page - 1) }
        if page < pages { values["next"] = link(page + 1) }
        let expiring = auth.accounts.expiringSoon(within: 14)
        values["hasExpiring"] = !expiring.isEmpty
        values["expiring"] = expiring.map { ["name": $0.user, "urlName": FormURLEncoding.encode($0.user), "day": $0.expires] }
        if let notice { values["notice"] = notice }
        if let error { values["error"] = error }
        if let (user, password) = created {
            values["createdUser"] = user
            values["createdPassword"] = password
        }
        var response = render("adminUsers", title: "Users", values, visitor: visitor, nav: "admin", status: status)
        if created != nil { response.headers[.cacheControl] = "no-store" }
        return response
    }

    func createUser(_ context: Context, _ visitor: Visitor, _ form: [String: String]) async throws -> Response {
        let admin = admin(visitor, context)
        let name = form["name"] ?? ""
        var password = form["password"] ?? ""
        let made = password.isEmpty
        if made { password = SecretTokens.randomBase64URL(12) }
        do {
            try await admin.addUser(name, password: password)
        } catch let error as AdminError {
            return try await usersPage(nil, visitor, notice: nil, error: error.description, created: nil, status: .badRequest)
        }
        logger.info("console user added", metadata: ["admin": "\(visitor.user)", "user": "\(name)"])
        return try await usersPage(
            nil, visitor, notice: "User \(name) created.", error: nil, created: made ? (name, password) : nil, status: .created)
    }

    // MARK: cache

    func cachePage(_ visitor: Visitor, notice: String? = nil, error: String? = nil, status: HTTPResponse.Status = .ok)
        async throws -> Response
    {
        let stats = try await admin.cacheStats()
        let repos = try await admin.cachedRepositories()
        let max = admin.policy.maxCacheSize
        func shares(_ list: [CacheShare]) -> [[String: Any]] {
            list.map { ["name": $0.name, "blobs": $0.blobs, "bytes": ByteCount.format($0.bytes)] }
        }
        var values: [String: Any] = [
            "size": ByteCount.format(stats.bytes), "max": max.map(ByteCount.format) ?? "no limit (storage.max_size)",
            "bounded": max != nil,
            "percent": max.map { $0 > 0 ? Swift.min(100, Int((Double(stats.bytes) * 100 / Double($0)).rounded())) : 100 } ?? 0,
            "blobs": stats.blobs, "hitRatio": stats.hitRatio.map { String(format: "%.0f %%", $0 * 100) } ?? "—",
            "hit": ByteCount.format(stats.hit30d), "sent": ByteCount.format(stats.sent30d),
            "quarantined": stats.quarantined, "damaged": stats.quarantined > 0,
            "upstreams": shares(stats.byUpstream), "repositories": shares(stats.topRepositories),
            "repoCount": repos.count, "repoMore": repos.count > Self.reposShown, "shown": Self.reposShown,
            "repoList": repos.prefix(Self.reposShown).map { r in
                [
                    "upstream": r.upstream, "repository": r.repository, "upstreamURL": FormURLEncoding.encode(r.upstream),
                    "repositoryURL": FormURLEncoding.encode(r.repository),
                ]
            },
        ]
        if let notice { values["notice"] = notice }
        if let error { values["error"] = error }
        return render("adminCache", title: "Cache", values, visitor: visitor, nav: "cache", status: status)
    }

    static var reposShown: Int { 500 }

    func repositoryPage(
        _ visitor: Visitor, upstream: String, repository: String, notice: String? = nil, error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        guard admin.policy.upstreams.contains(upstream), (try? RepositoryName(parsing: repository)) != nil else {
            return message(.notFound, "No such repository", "Name an upstream of this mirror and a repository.", visitor)
        }
        let tags = try await admin.cachedTags(upstream: upstream, repository: repository)
        var values: [String: Any] = [
            "upstream": upstream, "repository": repository, "hasTags": !tags.isEmpty,
            "tags": tags.map { t -> [String: Any] in
                [
                    "tag": t.tag, "digest": t.digest.description, "shortDigest": String(t.digest.description.prefix(19)),
                    "size": t.size.map(ByteCount.format) ?? "not cached", "mediaType": t.mediaType ?? "",
                    "fetched": Self.utcText(t.fetchedAt), "audience": t.audience,
                    "pulled": t.lastPulled.map(Self.utcText) ?? "—", "users": t.pulledBy,
                ]
            },
        ]
        if let notice { values["notice"] = notice }
        if let error { values["error"] = error }
        return render("adminRepository", title: "\(upstream)/\(repository)", values, visitor: visitor, nav: "cache", status: status)
    }

    /// Evicts the form's `scope` (an upstream, a repository or a tag), then shows the page it
    /// was asked from: the repository's for a tag or repository, the cache's for an upstream.
    func evict(_ context: Context, _ visitor: Visitor, _ form: [String: String]) async throws -> Response {
        let text = form["scope"] ?? ""
        let scope = try? CacheScope(parsing: text)
        func page(notice: String?, error: String?, status: HTTPResponse.Status) async throws -> Response {
            if let scope, let repository = scope.repository, scope.tag != nil || error != nil {
                return try await repositoryPage(
                    visitor, upstream: scope.upstream, repository: repository.value, notice: notice, error: error, status: status)
            }
            return try await cachePage(visitor, notice: notice, error: error, status: status)
        }
        do {
            let done = try await admin(visitor, context).evictCache(text)
            await evicted()
            let r = done.removed
            logger.info("console cache eviction", metadata: ["admin": "\(visitor.user)", "scope": "\(done.scope)"])
            return try await page(
                notice: "Evicted \(done.scope): \(r.tags) tag record(s), \(r.blobs) blob(s), \(ByteCount.format(r.bytes))"
                    + (clustered ? " on this node; the other nodes apply it within a second." : "."),
                error: nil, status: .ok)
        } catch let error as AdminError {
            return try await page(notice: nil, error: error.description, status: .badRequest)
        }
    }

    // MARK: upstreams

    func upstreamsPage(_ visitor: Visitor) -> Response {
        func ms(_ d: Duration?) -> String {
            guard let d else { return "—" }
            let v = Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
            return v < 10 ? String(format: "%.1f ms", v) : String(format: "%.0f ms", v)
        }
        let rows = upstreamHealth.map { u -> [String: Any] in
            let r = u.health.report()
            var row: [String: Any] = [
                "name": u.name, "url": u.url, "requests": r.requests,
                "errors": r.errorRate.map { "\(r.failures) (\(String(format: "%.1f", $0 * 100)) %)" } ?? "0",
                "bad": r.failures > 0, "latency": r.meanLatency == nil ? "—" : "\(ms(r.meanLatency)) / \(ms(r.maxLatency))",
                "success": r.lastSuccess.map(Self.utcText) ?? "—",
                "failure": r.lastFailure.map { "\(Self.utcText($0.at)): \($0.what)" } ?? "—",
                "ratelimit": r.rateLimit.map { "\($0.remaining)\($0.limit.map { " of \($0)" } ?? "") (\(Self.utcText($0.at)))" }
                    ?? "not reported",
            ]
            if r.requests == 0 { row["latency"] = "—" }
            return row
        }
        return render("adminUpstreams", title: "Upstreams", ["upstreams": rows], visitor: visitor, nav: "upstreams")
    }

    // MARK: audit log

    func auditPage(_ visitor: Visitor) async throws -> Response {
        let days = 30, limit = 500
        let entries = try await admin.auditLog(since: Date().addingTimeInterval(-Double(days) * 86400), limit: limit)
        let values: [String: Any] = [
            "days": days, "limit": limit, "hasEntries": !entries.isEmpty,
            "entries": entries.reversed().map { e in
                [
                    "at": Self.utcText(e.at), "actor": e.actor, "address": e.address, "action": e.action, "target": e.target,
                    "detail": e.detail,
                ]
            },
        ]
        return render("adminAudit", title: "Audit log", values, visitor: visitor, nav: "audit")
    }

    // MARK: one user

    func userPage(_ name: String, _ visitor: Visitor, notice: String?, error: String?, newPassword: String? = nil,
        status: HTTPResponse.Status = .ok) async throws -> Response
    {
        guard let user = UserName(name), let record = try await admin.stores.users.user(name) else {
            return message(.notFound, "No such user", "There is no user of that name.", visitor)
        }
        let settings = try await admin.stores.userSettings.userSettings().first { $0.user == name }
        let book = PlanBook(plans: admin.policy.plans, defaultPlan: admin.policy.defaultPlan)
        if let settings { book.replace(PlanBook.settings(from: [settings])) }
        let effective = book.limits(for: .user(user))
        let tokens = try await admin.listTokens(user: name)
        let logins = try await admin.upstreamLogins(user: name)
        let h = try await history(user)
        let bytes = { (n: Int64) in ByteCount.format(n) }
        let expired = auth.accounts.expired(name)
        var state = [record.disabled ? "Disabled" : "Active", auth.accounts.isAdmin(name) ? "admin" : "user"]
        if let day = settings?.expires { state.append(expired != nil ? "account expired on \(day)" : "account ends after \(day)") }
        var values: [String: Any] = [
            "name": name, "state": state.joined(separator: " · "),
            "limits": LimitKind.allCases.map { kind in
                ["title": kind.about.help, "value": effective.limits[kind].map(kind.about.unit.format) ?? "unlimited"]
            },
            "allow": (settings?.allow ?? admin.policy.defaultAllow).joined(separator: " ").nonEmpty ?? "(none)",
            "deny": (settings?.deny ?? admin.policy.defaultDeny).joined(separator: " ").nonEmpty ?? "(none)",
            "plans": admin.policy.plans.keys.sorted().map { ["value": $0, "selected": $0 == effective.plan] },
            "overrideFields": LimitKind.allCases.map { kind -> [String: Any] in
                let planValue = (admin.policy.plans[effective.plan]?.limits[kind]).map(kind.about.unit.format) ?? "unlimited"
                let value = settings?.overrides[kind.key].map { $0.map(kind.about.unit.format) ?? "unlimited" } ?? ""
                return ["key": kind.key, "title": kind.about.help, "value": value, "planValue": planValue]
            },
            "allowText": (settings?.allow ?? []).joined(separator: "\n"), "denyText": (settings?.deny ?? []).joined(separator: "\n"),
            "defaultAllow": admin.policy.defaultAllow.joined(separator: " ").nonEmpty ?? "(none)",
            "defaultDeny": admin.policy.defaultDeny.joined(separator: " ").nonEmpty ?? "(none)",
            "expires": settings?.expires ?? "", "disabled": record.disabled,
            "disableAction": record.disabled ? "enable" : "disable", "disableLabel": record.disabled ? "Enable" : "Disable",
            "otherRole": auth.accounts.isAdmin(name) ? "user" : "admin",
            "roleAction": auth.accounts.isAdmin(name) ? "Make an ordinary user" : "Make admin",
            "tokenCount": tokens.tokens.count + tokens.logins.count, "loginCount": logins.count,
            "pullsChart": StackedBarChart.svg(title: "Pulls per day", days: h.days, series: h.pullsByUpstream) { "\($0)" },
            "bytesChart": StackedBarChart.svg(title: "Bytes per day", days: h.days, series: h.bytesByUpstream, format: bytes),
        ]
        if let o = settings?.overrides, !o.isEmpty {
            values["overrides"] = o.keys.sorted().map { "\($0)=\(o[$0]!.map(String.init) ?? "unlimited")" }.joined(separator: " ")
        }
        if let notice { values["notice"] = notice }
        if let error { values["error"] = error }
        if let newPassword { values["newPassword"] = newPassword }
        var response = render("adminUser", title: name, values, visitor: visitor, nav: "admin", status: status)
        if newPassword != nil { response.headers[.cacheControl] = "no-store" }
        return response
    }

    func userAction(_ action: String, _ context: Context, _ visitor: Visitor, _ form: [String: String]) async throws
        -> Response
    {
        let admin = admin(visitor, context)
        let name = form["name"] ?? ""
        guard try await admin.stores.users.user(name) != nil else {
            return message(.notFound, "No such user", "There is no user of that name.", visitor)
        }
        // An admin can't lock themselves out from here (the CLI still can).
        let own = name == visitor.user.value
        if own, ["disable", "delete"].contains(action) || (action == "role" && form["role"] == "user") {
            return try await userPage(name, visitor, notice: nil, error: "Not on your own account: ask another admin, or use the CLI.", status: .badRequest)
        }
        do {
            var notice: String
            var password: String?
            switch action {
            case "plan":
                _ = try await admin.setUserSettings(name, .init(plan: form["plan"] ?? ""))
                notice = "Plan set to \(form["plan"] ?? "")."
            case "limits":
                // The form holds the whole set: overrides and lists not given go back to the plan's
                // and the defaults (the plan choice stays).
                var overrides: [LimitKind: Int64?] = [:]
                for kind in LimitKind.allCases {
                    let text = (form[kind.key] ?? "").trimmingCharacters(in: .whitespaces)
                    if text.isEmpty { continue }
                    guard let value = kind.about.unit.parseOverride(text) else {
                        throw AdminError("\(kind.about.help): expected \(kind.about.unit.expected) or unlimited, got \(text.prefix(40))")
                    }
                    overrides[kind] = value
                }
                func globs(_ field: String) -> [String] {
                    (form[field] ?? "").split(whereSeparator: { $0.isNewline || $0 == " " || $0 == "," }).map(String.init)
                }
                let plan = try await admin.stores.userSettings.userSettings().first { $0.user == name }?.plan
                _ = try await admin.setUserSettings(
                    name, .init(plan: plan, overrides: overrides, allow: globs("allow"), deny: globs("deny"), clearFirst: true))
                notice = "Limits and access policy saved."
            case "expires":
                let day = (form["expires"] ?? "").trimmingCharacters(in: .whitespaces)
                _ = try await admin.setUserSettings(name, .init(expires: day.isEmpty ? "never" : day))
                notice = day.isEmpty ? "The account has no end." : "The account's last day is \(day)."
            case "role":
                _ = try await admin.setUserSettings(name, .init(role: form["role"] ?? ""))
                notice = form["role"] == "admin" ? "\(name) is an admin." : "\(name) is an ordinary user."
            case "disable", "enable":
                try await admin.setDisabled(name, action == "disable")
                notice = action == "disable" ? "\(name) is disabled: their logins, tokens and sessions stop." : "\(name) is enabled."
            case "password":
                let made = SecretTokens.randomBase64URL(12)
                try await admin.setPassword(name, password: made)
                password = made
                notice = "Password reset: \(name)'s docker logins and console sessions ended."
            case "revoke-tokens":
                let n = try await admin.revokeAllTokens(user: name)
                notice = "Revoked \(n) token(s) and stored login(s)."
            case "delete":
                let n = try await admin.deleteUser(name)
                logger.info("console user deleted", metadata: ["admin": "\(visitor.user)", "user": "\(name)"])
                return try await usersPage(
                    nil, visitor, notice: "Deleted \(name) (and \(n) token(s)).", error: nil, created: nil, status: .ok)
            default:
                return message(.notFound, "Unknown action", "", visitor)
            }
            logger.info("console admin action", metadata: ["admin": "\(visitor.user)", "user": "\(name)", "action": "\(action)"])
            return try await userPage(name, visitor, notice: notice, error: nil, newPassword: password)
        } catch let error as AdminError {
            return try await userPage(name, visitor, notice: nil, error: error.description, status: .badRequest)
        }
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
