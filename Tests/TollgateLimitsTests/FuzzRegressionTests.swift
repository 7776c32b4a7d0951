import RegistryCore
import Testing

@testable import TollgateLimits

/// Inputs the fuzz targets under Fuzz/ (scripts/fuzz) turned up, kept as regression tests.
struct FuzzRegressionTests {
    /// Fuzz/CivilDate: years below 1000 were written with fewer than four digits ("48-03-28"),
    /// which does not parse back and sorts wrongly as text (the usage store compares days as
    /// text, so `/usage?since=0999-01-01` found nothing).
    @Test(arguments: ["+048-03-28", "0048-03-28", "0999-12-31", "0000-01-01", "2026-11-25"])
    func descriptionParsesBack(_ text: String) throws {
        let d = try #require(CivilDate(parsing: text))
        #expect(d.description.utf8.count == 10)
        #expect(CivilDate(parsing: d.description) == d)
    }

    @Test func descriptionsSortLikeDates() {
        #expect(CivilDate(year: 999, month: 1, day: 1).description == "0999-01-01")
        #expect(CivilDate(year: 999, month: 1, day: 1).description < CivilDate(year: 2026, month: 1, day: 1).description)
        #expect(CivilDate(year: 48, month: 3, day: 28).description == "0048-03-28")
    }
}
