// RepositoryName(parsing:) — every /v2/<name>/… request, `?scope=repository:<name>:pull`, upstream
// tag lists. Checked against an independent regex of the distribution spec's grammar.
@testable import RegistryCore

nonisolated(unsafe) let grammar = try! Regex(
    #"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*"#)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRepositoryName(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let s = fuzzText(data, size)
    let parsed = try? RepositoryName(parsing: s)
    // A Substring (as the path router passes) parses the same as a String.
    let sub = asSubstring(s)
    check((try? RepositoryName(parsing: sub)) == parsed, "String and Substring parse differently", input: s)

    let expected = s.utf8.count <= RepositoryName.maxLength && s.unicodeScalars.allSatisfy(\.isASCII)
        && (try? grammar.wholeMatch(in: s)) != nil
    check((parsed != nil) == expected, "accepted=\(parsed != nil) but grammar says \(expected)", input: s)
    guard let name = parsed else { return 0 }

    check(name.value == s && name.description == s, "value differs from input", input: s)
    check((try? RepositoryName(parsing: name.description)) == name, "description does not re-parse", input: s)
    let components = name.components
    check(components.joined(separator: "/") == s, "components do not rebuild the name", input: s)
    check(components.allSatisfy { RepositoryName.isValidComponent($0) && $0 != "." && $0 != ".." },
        "a component is invalid or a dot segment", input: s)
    let prefixed = name.prefixed("library")
    if s.utf8.count + "library/".utf8.count <= RepositoryName.maxLength {
        check(prefixed.value == "library/" + s, "prefixed lost the prefix", input: s)
    } else {
        check(prefixed == name, "prefixed produced an over-long name", input: s)
    }
    return 0
}
