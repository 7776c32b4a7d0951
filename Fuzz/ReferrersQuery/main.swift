// ReferrersQuery(decoding:), ReferrersQuery.next(fromLink:) — the query of a referrers request,
// which the client controls and the mirror keys its cache on and sends upstream. Input: the raw
// query; also read as an upstream's Link header.
@testable import RegistryCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReferrersQuery(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let s = fuzzText(data, size)
    for q in [try? ReferrersQuery(decoding: asSubstring(s)), (try? ReferrersQuery.next(fromLink: [s])) ?? nil] {
        guard let q else { continue }
        let e = q.encoded
        check(e.utf8.count <= ReferrersQuery.maxLength, "encoded query of \(e.utf8.count) bytes", input: s)
        check(q.parameters.count <= ReferrersQuery.maxParameters, "\(q.parameters.count) parameters", input: s)
        check(!q.parameters.contains { $0.0 == "ns" }, "ns kept", input: s)
        check(
            e.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7a) || Array("-._~%=&".utf8).contains(b)
            }, "encoded \(escaped(e)) has raw characters", input: s)
        check((try? ReferrersQuery(decoding: asSubstring(e))) == q, "\(escaped(e)) does not decode to itself", input: s)
        if let t = q.artifactType { check(MediaType.isWellFormed(t), "artifactType \(escaped(t))", input: s) }
    }
    return 0
}
