/// Byte classes of the ASCII grammars the registry API and HTTP use (names, hosts, media types,
/// query tokens), for byte-level parsers.
enum ASCII {
    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    /// A–Z, a–z, 0–9.
    static func isAlphanumeric(_ b: UInt8) -> Bool { isDigit(b) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7a) }
    /// 0–9, a–f, A–F.
    static func isHexDigit(_ b: UInt8) -> Bool { isDigit(b) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x66) }
}
