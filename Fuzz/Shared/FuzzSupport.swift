// Shared by every fuzz target (compiled into each one by scripts/fuzz).
import Foundation

/// The input as text. Invalid UTF-8 becomes U+FFFD, as an HTTP header or a YAML file read into a
/// `String` would.
func fuzzText(_ data: UnsafePointer<UInt8>, _ size: Int) -> String {
    String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
}

func fuzzBytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}

/// `s` with every scalar outside printable ASCII escaped, for messages.
func escaped(_ s: some StringProtocol) -> String {
    s.unicodeScalars.map { $0.escaped(asASCII: true) }.joined()
}

/// Fails the run (libFuzzer saves the input as a crash artifact) when an invariant does not hold.
func check(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, input: some StringProtocol,
    file: StaticString = #fileID, line: UInt = #line
) {
    if !condition() {
        fatalError("invariant failed: \(message())\n  input: \"\(escaped(input))\"", file: file, line: line)
    }
}

/// Reads little-endian integers from the front of the input, then the rest as text.
struct FuzzReader {
    var bytes: ArraySlice<UInt8>

    init(_ data: UnsafePointer<UInt8>, _ size: Int) { bytes = fuzzBytes(data, size)[...] }

    mutating func int64() -> Int64 {
        var v: UInt64 = 0
        for i in 0..<8 {
            guard let b = bytes.popFirst() else { break }
            v |= UInt64(b) << (8 * UInt64(i))
        }
        return Int64(bitPattern: v)
    }

    mutating func byte() -> UInt8 { bytes.popFirst() ?? 0 }

    var rest: String { String(decoding: bytes, as: UTF8.self) }
}

/// `s` as a Substring of a longer string (as routers and splitters hand parsers their input).
/// The "\n" in front is always a grapheme boundary, so the Substring holds exactly `s`.
func asSubstring(_ s: String) -> Substring {
    ("\n" + s).dropFirst()
}

/// Any JSON value, decoded with the same JSONDecoder the code under test uses (so both see the
/// same copy of a repeated key and the same text), as a reference for what a document holds.
enum JSONValue: Decodable, Equatable {
    case object([String: JSONValue]), array([JSONValue]), string(String), number(Double), bool(Bool), null

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        if let c = try? decoder.container(keyedBy: Key.self) {
            var members: [String: JSONValue] = [:]
            for key in c.allKeys { members[key.stringValue] = try c.decode(JSONValue.self, forKey: key) }
            self = .object(members)
        } else if var c = try? decoder.unkeyedContainer() {
            var items: [JSONValue] = []
            while !c.isAtEnd { items.append(try c.decode(JSONValue.self)) }
            self = .array(items)
        } else {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let n = try? c.decode(Double.self) { self = .number(n) }
            else { self = .string(try c.decode(String.self)) }
        }
    }

    subscript(key: String) -> JSONValue? { if case .object(let o) = self { o[key] } else { nil } }
    var string: String? { if case .string(let s) = self { s } else { nil } }
    var number: Double? { if case .number(let n) = self { n } else { nil } }
    var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    var isObject: Bool { if case .object = self { true } else { false } }
}
