// UpstreamTagList.tags and Pagination.page — an upstream's `tags/list` answer, paged again for
// the client (PullThroughCache.tags). First line: `n` (empty: none); second: `last` (empty:
// none); the rest: the body. Compared with a reference page of the body's valid tags.
import Foundation
import RegistryCore
@testable import TollgateProxy

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUpstreamTagList(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = fuzzBytes(data, size)
    let s = fuzzText(data, size)
    let lines = bytes.split(separator: UInt8(ascii: "\n"), maxSplits: 2, omittingEmptySubsequences: false)
    guard lines.count == 3 else { return 0 }
    let n = String(decoding: lines[0], as: UTF8.self), last = String(decoding: lines[1], as: UTF8.self)
    guard let page = try? Pagination(n: n.isEmpty ? nil : n, last: last.isEmpty ? nil : last) else { return 0 }
    let body = Data(lines[2])

    guard let tags = UpstreamTagList.tags(from: body) else {
        let json = try? JSONDecoder().decode(JSONValue.self, from: body)
        check(!(json?.isObject == true && (json?["tags"] == nil || json?["tags"] == .null)), "a list without tags refused", input: s)
        return 0
    }
    let (entries, hasMore) = page.page(of: tags)
    // What a client can use: valid tags, in order, once each, after `last`, at most `n`.
    for (a, b) in zip(entries, entries.dropFirst()) { check(a < b, "\(escaped(a)) before \(escaped(b))", input: s) }
    for t in entries {
        check((try? Tag(parsing: t))?.value == t, "invalid tag \(escaped(t)) served", input: s)
        if let l = page.last { check(t > l, "\(escaped(t)) is not after last", input: s) }
    }
    if let limit = page.limit {
        check(entries.count <= limit, "more than n", input: s)
        if hasMore { check(entries.count == limit, "a short page with more to come", input: s) }
    } else {
        check(!hasMore, "more to come without n", input: s)
    }
    // The reference: the body's strings that are tags, sorted, once each.
    if let json = try? JSONDecoder().decode(JSONValue.self, from: body), let listed = json["tags"]?.array {
        let valid = Set(listed.compactMap { $0.string }.filter { (try? Tag(parsing: $0))?.value == $0 }).sorted()
        let reference = page.page(of: valid)
        check(entries == reference.entries && hasMore == reference.hasMore, "page \(entries.map(escaped)), reference \(reference.entries.map(escaped))", input: s)
    }
    return 0
}
