// Digest(parsing:) — digests in request paths, upstream Docker-Content-Digest headers and
// manifests (a digest becomes a file name) — and DigestHasher over arbitrary bytes.
@testable import RegistryCore

nonisolated(unsafe) let digestGrammar = try! Regex(#"sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}"#)
nonisolated(unsafe) let algorithmGrammar = try! Regex(#"[a-z0-9]+([+._-][a-z0-9]+)*"#)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDigest(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let s = fuzzText(data, size)
    let ascii = s.unicodeScalars.allSatisfy(\.isASCII)

    // The algorithm grammar, checked on its own.
    let algPart = String(s.prefix { $0 != ":" })
    let algExpected = algPart.unicodeScalars.allSatisfy(\.isASCII) && (try? algorithmGrammar.wholeMatch(in: algPart)) != nil
    check(Digest.isValidAlgorithm(algPart) == algExpected, "isValidAlgorithm disagrees with the grammar", input: algPart)

    let parsed: Digest?
    do {
        parsed = try Digest(parsing: s)
    } catch let e as RegistryError {
        check(e.code == .digestInvalid || e.code == .unsupported, "unexpected error code \(e.code)", input: s)
        if e.code == .unsupported {
            check(algExpected && algPart != "sha256" && algPart != "sha512" && s.utf8.count <= 256,
                "UNSUPPORTED for a malformed digest", input: s)
        }
        parsed = nil
    } catch {
        check(false, "non-registry error \(error)", input: s)
        return 0
    }
    check((try? Digest(parsing: asSubstring(s))) == parsed, "String and Substring parse differently", input: s)
    let expected = ascii && (try? digestGrammar.wholeMatch(in: s)) != nil
    check((parsed != nil) == expected, "accepted=\(parsed != nil) but grammar says \(expected)", input: s)
    if let d = parsed {
        check(d.description == s, "description differs from input", input: s)
        check((try? Digest(parsing: d.description)) == d, "description does not re-parse", input: s)
        check(!d.hex.contains("/") && !d.hex.contains("."), "hex could escape a path", input: s)
    }

    // Hashing: split updates equal one update; the result is a valid digest of the right algorithm.
    let bytes = fuzzBytes(data, size)
    let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    for algorithm in ["sha256", "sha512"] {
        var whole = DigestHasher(algorithm: algorithm)
        whole.update(bytes)
        var split = DigestHasher(algorithm: algorithm)
        split.update(Array(bytes[..<cut]))
        split.update(Array(bytes[cut...]))
        let a = whole.finalize(), b = split.finalize()
        check(a == b, "split hashing differs for \(algorithm)", input: s)
        check(a.algorithm == algorithm && (try? Digest(parsing: a.description)) == a, "hasher result invalid", input: s)
    }
    check(Digest.sha256(of: bytes).hex.utf8.count == 64, "sha256(of:) length", input: s)
    return 0
}
