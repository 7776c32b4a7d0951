/// A proleptic Gregorian date (UTC), converted without Foundation's calendars.
public struct CivilDate: Sendable, Equatable, CustomStringConvertible {
    public var year: Int64
    public var month: Int64
    public var day: Int64

    public init(year: Int64, month: Int64, day: Int64) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// From days since 1970-01-01 (H. Hinnant's `civil_from_days`).
    public init(daysSinceEpoch z0: Int64) {
        let z = z0 + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    public init(unixSeconds t: Int64) { self.init(daysSinceEpoch: floorDiv(t, 86400)) }

    /// `YYYY-MM-DD`.
    public init?(parsing s: String) {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let y = Int64(parts[0]), let m = Int64(parts[1]), let d = Int64(parts[2]), (1...12).contains(m),
            (1...31).contains(d)
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// Whether the calendar has this day (`2026-02-30` parses, but reads back as another day).
    public var exists: Bool { CivilDate(daysSinceEpoch: daysSinceEpoch) == self }

    public var daysSinceEpoch: Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public var description: String {
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        // Four-digit years (`0999`), as parsing wants them and as the usage store compares text.
        let y = (0..<1000).contains(year) ? String("000\(year)".suffix(4)) : "\(year)"
        return "\(y)-\(two(month))-\(two(day))"
    }

    /// `2026-11-25T18:00:00Z` for unix seconds.
    public static func timestamp(_ t: Int64) -> String {
        let s = floorDiv(t, 1) - floorDiv(t, 86400) * 86400
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(CivilDate(unixSeconds: t))T\(two(s / 3600)):\(two(s / 60 % 60)):\(two(s % 60))Z"
    }
}

/// Division rounding toward negative infinity (days and windows before 1970 too).
@inline(__always)
public func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
