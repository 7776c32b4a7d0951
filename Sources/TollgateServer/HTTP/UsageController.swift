import Hummingbird
import NIOCore
import Prometheus
import RegistryCore
import TollgateLimits

/// `GET /usage`: the caller's own plan, limits, where they stand in each window, and their daily
/// usage (`?since=7d`, default 30 days). Anonymous callers (when allowed) see their address
/// group's windows, without history.
struct UsageController: Sendable {
    let limiter: any Limiter
    let ledger: UsageLedger
    let store: any UsageLedgerStore

    func addRoutes(to r: Router<TollgateContext>) {
        r.get("/usage") { request, context in try await self.usage(request, context) }
    }

    func usage(_ request: Request, _ context: TollgateContext) async throws -> Response {
        guard let identity = context.identity else { throw RegistryError(.unauthorized, "authentication required") }
        let since = try Self.sinceDay(request.uri.queryParameters["since"].map(String.init), now: limiter.clock.wall())
        let subject = identity.principal(address: context.clientAddress)
        let status = await limiter.status(subject)
        var rows: [UsageRecord] = []
        if let user = identity.user {
            rows = try await store.usage(since: since.description, user: user.value)
            rows = UsageRecord.merge(rows + ledger.pending(user: user).filter { $0.day >= since.description })
        }
        let json = UsageReport.json(
            user: identity.user?.value, subject: subject, status: status, since: since, rows: rows,
            now: limiter.clock.wall())
        return RegistryController.json(json, head: false)
    }

    /// `?since=7d` / `?since=2026-11-01`; 30 days by default.
    static func sinceDay(_ text: String?, now: Int64) throws -> CivilDate {
        guard let day = UsageReport.firstDay(text ?? "30d", now: now) else {
            throw RegistryError(.parameterInvalid, "since: expected a duration such as 7d or a date such as 2026-11-01")
        }
        return day
    }
}
