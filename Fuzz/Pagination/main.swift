// Pagination(n:last:) and page(of:) — `?n=&last=` of tags/list and _catalog.
// Input lines: n (a line "-" = absent), last ("-" = absent), then the entries.
@testable import RegistryCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPagination(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let s = fuzzText(data, size)
    var lines = s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)[...]
    let nText = lines.popFirst().flatMap { $0 == "-" ? nil : $0 }
    let lastText = lines.popFirst().flatMap { $0 == "-" ? nil : $0 }
    let entries = Array(lines).sorted()

    let page: Pagination
    do {
        page = try Pagination(n: nText, last: lastText)
    } catch let e as RegistryError {
        check(e.code == .paginationNumberInvalid, "unexpected error code \(e.code)", input: s)
        return 0
    } catch {
        check(false, "non-registry error \(error)", input: s)
        return 0
    }
    check((page.limit == nil) == (nText == nil), "limit presence", input: s)
    if let limit = page.limit {
        check(limit >= 0 && limit <= Pagination.maxLimit, "limit \(limit) out of range", input: s)
        check(nText.map { $0.utf8.count <= 6 } ?? false, "accepted a long n", input: s)
    }
    check(page.last == lastText, "last changed", input: s)

    let (result, hasMore) = page.page(of: entries)
    // Reference: everything after `last`, then at most `limit`.
    let after = entries.filter { e in page.last.map { e > $0 } ?? true }
    let expected = page.limit.map { Array(after.prefix($0)) } ?? after
    check(result == expected, "page \(result) != \(expected)", input: s)
    let expectedMore = page.limit.map { $0 > 0 && after.count > $0 } ?? false
    check(hasMore == expectedMore, "hasMore \(hasMore) != \(expectedMore)", input: s)
    return 0
}
