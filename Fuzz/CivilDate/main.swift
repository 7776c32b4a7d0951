// CivilDate(parsing:) — `YYYY-MM-DD` of /usage?since= and `tollgate usage --since`, and the
// days stored in the usage table.
@testable import RegistryCore

func daysIn(_ year: Int64, _ month: Int64) -> Int64 {
    switch month {
    case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCivilDate(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let s = fuzzText(data, size)
    guard let d = CivilDate(parsing: s) else { return 0 }
    check((1...12).contains(d.month) && (1...31).contains(d.day), "month or day out of range", input: s)
    check(d.year >= 0 && d.year <= 9999, "year \(d.year)", input: s)
    // A real calendar day survives the round trip through days since the epoch.
    if d.day <= daysIn(d.year, d.month) {
        check(CivilDate(daysSinceEpoch: d.daysSinceEpoch) == d, "days round trip", input: s)
    }
    // The description is what the usage store compares as text ("YYYY-MM-DD").
    check(d.description.utf8.count == 10, "description \(d.description) is not YYYY-MM-DD", input: s)
    check(CivilDate(parsing: d.description) == d, "description does not re-parse", input: s)
    return 0
}
