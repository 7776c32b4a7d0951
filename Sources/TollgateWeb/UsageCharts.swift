import RegistryCore
import TollgateLimits

/// A user's daily usage over a span of days, as the usage page shows it: stacked bar charts drawn
/// as SVG on the server, and the same numbers as rows. Pure: records in, markup out.
public struct UsageHistory: Sendable {
    /// `YYYY-MM-DD`, oldest first, every day of the span (days without use included).
    public let days: [String]
    /// Upstreams with any use in the span, by name.
    public let upstreams: [String]
    /// Day → upstream → the day's record.
    let byDay: [String: [String: UsageRecord]]
    /// One row per day and upstream with any use, newest first.
    public let rows: [UsageRecord]

    public init(records: [UsageRecord], lastDay: CivilDate, count: Int) {
        let first = lastDay.daysSinceEpoch - Int64(count - 1)
        days = (0..<Int64(count)).map { CivilDate(daysSinceEpoch: first + $0).description }
        let span = Set(days)
        var byDay: [String: [String: UsageRecord]] = [:]
        for r in records where span.contains(r.day) {
            byDay[r.day, default: [:]][r.upstream, default: UsageRecord(user: r.user, day: r.day, upstream: r.upstream)].add(r)
        }
        self.byDay = byDay
        upstreams = Set(byDay.values.flatMap(\.keys)).sorted()
        rows = days.reversed().flatMap { day in (byDay[day] ?? [:]).values.sorted { $0.upstream < $1.upstream } }
    }

    public var total: UsageRecord { UsageRecord.total(rows) }

    /// The rows as CSV (a header line, then one line per row, oldest first).
    public var csv: String {
        var lines = ["day,upstream,requests,pulls,bytes_sent,bytes_from_cache,bytes_from_upstream"]
        for r in rows.reversed() {
            lines.append(
                [r.day, Self.csvField(r.upstream), "\(r.requests)", "\(r.pulls)", "\(r.bytesSent)", "\(r.hitBytes)", "\(r.upstreamBytes)"]
                    .joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    static func csvField(_ s: String) -> String {
        // A spreadsheet runs a cell that starts with = + - @ as a formula: quote and neutralise.
        let risky = s.first.map { "=+-@\t\r".contains($0) } ?? false
        guard risky || s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return s }
        return "\"" + (risky ? "'" : "") + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A chart's series: a name and a value per day.
    public struct Series: Sendable, Equatable {
        public var name: String
        public var values: [Int64]
    }

    /// Pulls per day, one series per upstream.
    public var pullsByUpstream: [Series] { series { $0.pulls } }
    /// Blob bytes per day, one series per upstream.
    public var bytesByUpstream: [Series] { series { $0.bytesSent } }
    /// Blob bytes per day from the cache and from upstream.
    public var bytesBySource: [Series] {
        [
            Series(name: "from cache", values: days.map { d in (byDay[d] ?? [:]).values.reduce(0) { $0 + $1.hitBytes } }),
            Series(name: "from upstream", values: days.map { d in (byDay[d] ?? [:]).values.reduce(0) { $0 + $1.upstreamBytes } }),
        ]
    }

    func series(_ value: (UsageRecord) -> Int64) -> [Series] {
        upstreams.map { u in Series(name: u, values: days.map { d in byDay[d]?[u].map(value) ?? 0 }) }
    }
}

/// A stacked bar chart as an SVG element: a bar per day, a colour per series, a legend, the
/// largest day's figure on the axis. Every text in it is escaped here (the page inserts it as is).
public enum StackedBarChart {
    static let palette = ["#1f6feb", "#e8a33d", "#2da44e", "#a371f7", "#cf4d6f", "#57606a"]

    public static func svg(
        title: String, days: [String], series: [UsageHistory.Series], format: (Int64) -> String
    ) -> String {
        let width = 640.0, height = 180.0, left = 56.0, bottom = 24.0, top = 10.0
        let plotW = width - left - 8, plotH = height - bottom - top
        let totals = days.indices.map { i in series.reduce(Int64(0)) { $0 + $1.values[i] } }
        let peak = max(totals.max() ?? 0, 1)
        let slot = plotW / Double(max(days.count, 1))
        let barW = max(1, slot * 0.7)
        var out = """
            <svg class="chart" viewBox="0 0 \(Int(width)) \(Int(height + 22))" role="img" aria-label="\(escape(title))" \
            xmlns="http://www.w3.org/2000/svg"><title>\(escape(title))</title>
            """
        // axis: zero and the peak
        out += "<line x1=\"\(left)\" y1=\"\(top + plotH)\" x2=\"\(width - 8)\" y2=\"\(top + plotH)\" class=\"axis\"/>"
        out += "<text x=\"\(left - 6)\" y=\"\(top + 8)\" class=\"tick\" text-anchor=\"end\">\(escape(format(peak)))</text>"
        out += "<text x=\"\(left - 6)\" y=\"\(top + plotH)\" class=\"tick\" text-anchor=\"end\">0</text>"
        for (i, day) in days.enumerated() {
            let x = left + Double(i) * slot + (slot - barW) / 2
            var y = top + plotH
            for (s, serie) in series.enumerated() where serie.values[i] > 0 {
                let h = plotH * Double(serie.values[i]) / Double(peak)
                y -= h
                out += "<rect x=\"\(fmt(x))\" y=\"\(fmt(y))\" width=\"\(fmt(barW))\" height=\"\(fmt(h))\" "
                    + "fill=\"\(palette[s % palette.count])\"><title>\(escape(day)) \(escape(serie.name)): "
                    + "\(escape(format(serie.values[i])))</title></rect>"
            }
            if (days.count - 1 - i) % 7 == 0 {  // the last day and every week back
                out += "<text x=\"\(fmt(x + barW / 2))\" y=\"\(height - 6)\" class=\"tick\" text-anchor=\"middle\">"
                    + "\(escape(String(day.dropFirst(5))))</text>"
            }
        }
        var lx = left
        for (s, serie) in series.enumerated() {
            out += "<rect x=\"\(fmt(lx))\" y=\"\(height + 6)\" width=\"10\" height=\"10\" fill=\"\(palette[s % palette.count])\"/>"
            out += "<text x=\"\(fmt(lx + 14))\" y=\"\(height + 15)\" class=\"legend\">\(escape(serie.name))</text>"
            lx += 24 + Double(serie.name.count) * 7
        }
        if series.isEmpty {
            out += "<text x=\"\(width / 2)\" y=\"\(top + plotH / 2)\" class=\"legend\" text-anchor=\"middle\">no use in these days</text>"
        }
        return out + "</svg>"
    }

    /// A coordinate with one decimal.
    static func fmt(_ v: Double) -> String {
        let tenths = Int((v * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }

    /// XML text and attribute escaping.
    public static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
