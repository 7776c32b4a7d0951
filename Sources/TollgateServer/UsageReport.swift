import Foundation
import RegistryCore
import TollgateAdmin
import TollgateLimits

/// Usage reports: the JSON of `GET /usage`, and the table / JSON of `tollgate usage`.
public enum UsageReport {
    static func counts(_ r: UsageRecord) -> [String: Any] {
        [
            "requests": r.requests, "pulls": r.pulls, "bytes_sent": r.bytesSent, "cache_bytes": r.hitBytes,
            "upstream_bytes": r.upstreamBytes,
        ]
    }

    static func value(_ v: Int64?) -> Any { v.map { $0 as Any } ?? NSNull() }

    static func window(limit: Int64?, used: Int64, start: Int64, secondsLeft: Int64, now: Int64) -> [String: Any] {
        [
            "limit": value(limit), "used": used, "remaining": value(limit.map { max(0, $0 - used) }),
            "window_start": CivilDate.timestamp(start), "resets_at": CivilDate.timestamp(now + secondsLeft),
            "resets_in_seconds": secondsLeft,
        ]
    }

    /// Each limit kind's figure, by key.
    static func limits(_ l: PlanLimits) -> [String: Any] {
        Dictionary(uniqueKeysWithValues: LimitKind.allCases.map { ($0.key, value(l[$0])) })
    }

    /// Where the subject stands in each limit kind, by key, shaped by the kind's span.
    static func current(_ status: LimitStatus, now: Int64) -> [String: Any] {
        var current: [String: Any] = [:]
        for kind in LimitKind.allCases {
            let limit = status.limits.limits[kind]
            switch kind.about.span {
            case .window:
                let w = status[window: kind]!
                var o = window(limit: limit, used: w.used, start: w.start, secondsLeft: w.secondsLeft, now: now)
                if kind.about.counts == .blobBytes { o["in_flight"] = status.reservedBytes }
                current[kind.key] = o
            case .bucket: current[kind.key] = ["limit": value(limit), "remaining": value(status.requestsRemaining)]
            case .concurrent: current[kind.key] = ["limit": value(limit), "active": status.activeTransfers]
            }
        }
        return current
    }

    /// The body of `GET /usage`.
    static func json(
        user: String?, subject: Principal, status: LimitStatus, since: CivilDate, rows: [UsageRecord], now: Int64
    ) -> String {
        var object: [String: Any] = [
            "user": user.map { $0 as Any } ?? NSNull(),
            "plan": status.limits.plan,
            "limits": limits(status.limits.limits),
            "current": current(status, now: now),
        ]
        if user == nil { object["address_group"] = "\(subject)".replacingOccurrences(of: "ip:", with: "") }
        if user != nil {
            object["usage"] = [
                "since": since.description,
                "total": counts(UsageRecord.total(rows)),
                "days": rows.map { r -> [String: Any] in
                    var c = counts(r)
                    c["day"] = r.day
                    c["upstream"] = r.upstream
                    return c
                },
            ] as [String: Any]
        }
        return encode(object)
    }

    static func encode(_ object: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// The first UTC day of a report: `7d` is today and the six days before, `YYYY-MM-DD` that
    /// day; nil if `text` is neither.
    public static func firstDay(_ text: String, now: Int64) -> CivilDate? {
        if let date = CivilDate(parsing: text) { return date }
        guard let d = ConfigValues.duration(text), d >= .seconds(1) else { return nil }
        let days = max(1, Int64((d.components.seconds + 86399) / 86400))
        return CivilDate(daysSinceEpoch: CivilDate(unixSeconds: now).daysSinceEpoch - days + 1)
    }

    // MARK: `tollgate usage`

    /// One user's line of `tollgate usage`.
    public typealias Line = Admin.UsageLine

    public static func table(_ lines: [Line]) -> String {
        func pct(_ used: Int64, _ limit: Int64?) -> String {
            guard let limit else { return "-" }
            guard limit > 0 else { return used > 0 ? "100%" : "0%" }
            return "\(Int((Double(used) / Double(limit) * 100).rounded()))%"
        }
        // Then per windowed limit kind: its column (a count against its figure, or bytes) and "%".
        func cell(_ kind: LimitKind, _ used: Int64, _ limit: Int64?) -> String {
            kind.about.unit == .bytes ? ByteCount.format(used) : "\(used)/\(limit.map(String.init) ?? "∞")"
        }
        let header =
            ["USER", "PLAN", "REQUESTS", "PULLS", "SENT", "FROM CACHE"]
            + LimitKind.windowed.flatMap { [$0.column!, "%"] }
        var table = [header]
        for l in lines {
            let cacheShare =
                l.total.bytesSent > 0 ? "\(Int((Double(l.total.hitBytes) / Double(l.total.bytesSent) * 100).rounded()))%" : "-"
            table.append(
                [
                    l.user.isEmpty ? "(anonymous)" : l.user, l.plan, "\(l.total.requests)", "\(l.total.pulls)",
                    ByteCount.format(l.total.bytesSent), cacheShare,
                ]
                + LimitKind.windowed.flatMap { kind in
                    [cell(kind, l.used(kind), l.limits[kind]), pct(l.used(kind), l.limits[kind])]
                })
        }
        var widths = header.map { _ in 0 }
        for row in table { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return table.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i] + 2, withPad: " ", startingAt: 0)
            }.joined()
        }.joined(separator: "\n") + "\n"
    }

    public static func json(_ lines: [Line], since: CivilDate) -> String {
        encode(
            lines.map { l -> [String: Any] in
                var c = counts(l.total)
                c["user"] = l.user.isEmpty ? NSNull() : l.user
                c["plan"] = l.plan
                c["since"] = since.description
                c["limits"] = limits(l.limits)
                c["current"] = Dictionary(uniqueKeysWithValues: LimitKind.windowed.map { ($0.key, l.used($0)) })
                return c
            })
    }
}
