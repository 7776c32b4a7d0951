/// A single `Range: bytes=…` request resolved against a known size.
public struct ByteRange: Equatable, Sendable {
    /// First byte, inclusive.
    public let start: Int64
    /// Last byte, inclusive.
    public let end: Int64
    public var count: Int64 { end - start + 1 }

    public init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }

    public enum Resolution: Equatable, Sendable {
        /// No usable range: serve the whole entity (absent header, multiple ranges, unknown unit).
        case whole
        case partial(ByteRange)
        /// 416: the range can't be satisfied for this size.
        case unsatisfiable
    }

    /// Resolves a `Range` header value against `size` (RFC 9110 §14). Multi-range requests are
    /// answered with the whole entity, which the RFC allows.
    public static func resolve(_ header: String?, size: Int64) -> Resolution {
        guard let header else { return .whole }
        let value = header.trimmingASCIISpaces()
        guard value.lowercased().hasPrefix("bytes=") else { return .whole }
        let spec = value.dropFirst(6).trimmingASCIISpaces()
        if spec.contains(",") { return .whole }
        guard let dash = spec.firstIndex(of: "-") else { return .unsatisfiable }
        let first = spec[..<dash].trimmingASCIISpaces()
        let last = spec[spec.index(after: dash)...].trimmingASCIISpaces()
        func number(_ s: Substring) -> Int64? {
            guard !s.isEmpty, s.count <= 18, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return Int64(s)
        }
        if first.isEmpty {
            // Suffix range: the last N bytes.
            guard let n = number(last), n > 0, size > 0 else { return .unsatisfiable }
            return .partial(ByteRange(start: max(0, size - n), end: size - 1))
        }
        guard let a = number(first) else { return .unsatisfiable }
        guard a < size else { return .unsatisfiable }
        if last.isEmpty { return .partial(ByteRange(start: a, end: size - 1)) }
        guard let b = number(last), b >= a else { return .unsatisfiable }
        return .partial(ByteRange(start: a, end: min(b, size - 1)))
    }

    public func contentRange(size: Int64) -> String { "bytes \(start)-\(end)/\(size)" }
}
