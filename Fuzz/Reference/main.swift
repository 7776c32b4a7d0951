// Reference(parsing:) — `<tag>` or `<digest>` in /v2/<name>/manifests/<reference>.
@testable import RegistryCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReference(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let s = fuzzText(data, size)
    let parsed: Reference?
    do {
        parsed = try Reference(parsing: s)
    } catch let e as RegistryError {
        check([.tagInvalid, .digestInvalid, .unsupported].contains(e.code), "unexpected error code \(e.code)", input: s)
        parsed = nil
    } catch {
        check(false, "non-registry error \(error)", input: s)
        return 0
    }
    check((try? Reference(parsing: asSubstring(s))) == parsed, "String and Substring parse differently", input: s)
    guard let ref = parsed else { return 0 }
    check(ref.description == s, "description differs from input", input: s)
    check((try? Reference(parsing: ref.description)) == ref, "description does not re-parse", input: s)
    switch ref {
    case .tag(let t):
        check(!s.contains(":") && (try? Tag(parsing: s)) == t, "tag reference disagrees with Tag", input: s)
    case .digest(let d):
        check((try? Digest(parsing: s)) == d, "digest reference disagrees with Digest", input: s)
    }
    return 0
}
