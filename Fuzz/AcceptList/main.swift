// AcceptList / MediaType.essence — the client's `Accept` header lines (one per input line),
// and `Content-Type` values from upstreams.
@testable import RegistryCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAcceptList(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let s = fuzzText(data, size)
    let lines = s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let list = AcceptList(headerValues: lines)
    check(Set(list.types).count == list.types.count, "duplicate types", input: s)
    for t in list.types {
        check(!t.isEmpty, "empty type", input: s)
        check(t == t.lowercased(), "type not lowercased", input: s)
        check(!t.contains(",") && !t.contains(";"), "separator left in type", input: s)
        check(MediaType.essence(t) == t, "essence not idempotent for \(escaped(t))", input: s)
        check(list.accepts(t), "does not accept its own type \(escaped(t))", input: s)
    }
    check(list.acceptsAnything == (list.types.isEmpty || list.types.contains("*/*")), "acceptsAnything", input: s)
    if list.acceptsAnything {
        check(MediaType.allManifests.allSatisfy(list.accepts), "acceptsAnything but refuses a manifest type", input: s)
    }
    for line in lines {
        let e = MediaType.essence(line)
        check(MediaType.essence(e) == e, "essence not idempotent", input: line)
        _ = list.accepts(line)
        _ = MediaType.isManifest(e)
    }
    return 0
}
