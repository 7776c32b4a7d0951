// AuthChallenge.parse — an upstream's `WWW-Authenticate` header (untrusted: any upstream, or
// anything between us and it, can send anything). Parsing what we would write back gives the
// same challenges.
@testable import RegistryCore

func serialize(_ challenges: [AuthChallenge]) -> String {
    challenges.map { c in
        let params = c.parameters.sorted { $0.key < $1.key }.map { k, v in
            var quoted = "\""
            for ch in v {
                if ch == "\"" || ch == "\\" { quoted.append("\\") }
                quoted.append(ch)
            }
            return "\(k)=\(quoted)\""
        }
        return params.isEmpty ? c.scheme : c.scheme + " " + params.joined(separator: ",")
    }.joined(separator: ", ")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAuthChallenge(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let s = fuzzText(data, size)
    let challenges = AuthChallenge.parse(s)
    check(challenges.count <= s.count, "more challenges than characters", input: s)
    for c in challenges {
        check(!c.scheme.isEmpty, "empty scheme", input: s)
        check(!c.scheme.contains { " \t,=".contains($0) }, "delimiter in scheme", input: s)
        for k in c.parameters.keys {
            check(!k.isEmpty && !k.contains { " \t,=".contains($0) }, "bad key \(escaped(k))", input: s)
            check(k == k.lowercased(), "key not lowercased", input: s)
        }
        _ = (c.isBearer, c.isBasic, c.realm, c.service, c.scope)
    }
    // Round trip (ASCII only: with combining marks a delimiter we add can merge into the next
    // grapheme, which is a property of the test's serializer, not the parser).
    if s.unicodeScalars.allSatisfy(\.isASCII) {
        let text = serialize(challenges)
        let again = AuthChallenge.parse(text)
        check(again == challenges, "re-parse of \(escaped(text)) differs", input: s)
    }
    return 0
}
