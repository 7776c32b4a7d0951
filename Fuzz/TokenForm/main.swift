// TokenForm.parse — the application/x-www-form-urlencoded body of `POST /token` (password and
// refresh_token grants). Compared with a byte-level decoder written from the WHATWG rules.
import Foundation
@testable import TollgateServer

/// `+` is a space, `%XX` a byte; the bytes must be UTF-8. nil: malformed.
func referenceDecode(_ bytes: ArraySlice<UInt8>) -> String? {
    func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }
    var out: [UInt8] = []
    var i = bytes.startIndex
    while i < bytes.endIndex {
        let b = bytes[i]
        if b == UInt8(ascii: "+") {
            out.append(0x20); i += 1
        } else if b == UInt8(ascii: "%") {
            guard i + 2 < bytes.endIndex, let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2])
            else { return nil }
            out.append(h << 4 | l); i += 3
        } else {
            out.append(b); i += 1
        }
    }
    return String(validating: out, as: UTF8.self)
}

/// The fields by name (first wins), or nil when one is malformed.
func referenceForm(_ text: String) -> [String: String]? {
    var out: [String: String] = [:]
    for pair in Array(text.utf8).split(separator: UInt8(ascii: "&")) {
        let eq = pair.firstIndex(of: UInt8(ascii: "="))
        guard let key = referenceDecode(pair[..<(eq ?? pair.endIndex)]) else { return nil }
        guard let value = eq.map({ referenceDecode(pair[($0 + 1)...]) }) ?? "" else { return nil }
        if out[key] == nil { out[key] = value }
    }
    return out
}

func encode(_ s: String) -> String {
    var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
    allowed.insert(charactersIn: "-._~")
    return s.addingPercentEncoding(withAllowedCharacters: allowed)!
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenForm(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let s = fuzzText(data, size)
    let parsed: [String: String]? = TokenForm.parse(s)
    let expected = referenceForm(s)
    check(parsed == expected, "parsed \(parsed.map { "\($0)" } ?? "nil"), reference \(expected.map { "\($0)" } ?? "nil")", input: s)
    if let parsed {
        // What a client would send for these fields parses back to them.
        let body = parsed.sorted { $0.key < $1.key }.map { encode($0.key) + "=" + encode($0.value) }.joined(separator: "&")
        let again: [String: String]? = TokenForm.parse(body)
        check(again == parsed, "re-encoded form \(escaped(body)) parses to \(again.map { "\($0)" } ?? "nil")", input: s)
    }
    return 0
}
