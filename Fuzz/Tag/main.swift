// Tag(parsing:) — the reference of /v2/<name>/manifests/<tag> and upstream tag lists.
@testable import RegistryCore

nonisolated(unsafe) let grammar = try! Regex(#"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}"#)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTag(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let s = fuzzText(data, size)
    let parsed = try? Tag(parsing: s)
    check((try? Tag(parsing: asSubstring(s))) == parsed, "String and Substring parse differently", input: s)
    let expected = s.unicodeScalars.allSatisfy(\.isASCII) && (try? grammar.wholeMatch(in: s)) != nil
    check((parsed != nil) == expected, "accepted=\(parsed != nil) but grammar says \(expected)", input: s)
    guard let tag = parsed else { return 0 }
    check(tag.value == s && tag.description == s, "value differs from input", input: s)
    check((try? Tag(parsing: tag.description)) == tag, "description does not re-parse", input: s)
    check(!s.contains("/") && !s.contains(":") && s != "." && s != "..", "tag could escape a path", input: s)
    return 0
}
