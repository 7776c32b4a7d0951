// ByteRange.resolve — the client's `Range` header against a blob's size.
// Input: 8 bytes of size (little endian; any Int64, also the absurd ones), 1 byte choosing
// "no header", then the header value.
@testable import RegistryCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzByteRange(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var r = FuzzReader(data, size)
    var entity = r.int64()
    if r.byte() & 1 == 1 { entity = entity & 0xffff }  // mostly small sizes, so ranges can fit
    let header = r.rest
    let tag = "size=\(entity) header=\(header)"
    switch ByteRange.resolve(header, size: entity) {
    case .whole, .unsatisfiable:
        break
    case .partial(let range):
        check(entity > 0, "partial range of an empty or negative entity", input: tag)
        check(range.start >= 0 && range.start <= range.end && range.end < entity,
            "range \(range.start)-\(range.end) outside 0..<\(entity)", input: tag)
        check(range.count >= 1 && range.count <= entity, "count \(range.count)", input: tag)
        check(range.contentRange(size: entity) == "bytes \(range.start)-\(range.end)/\(entity)", "Content-Range", input: tag)
        // Whatever was resolved, the canonical header for it resolves to the same range (for
        // entities below 10^18 bytes: positions are limited to 18 digits).
        if range.end < 1_000_000_000_000_000_000 {
            let canonical = "bytes=\(range.start)-\(range.end)"
            check(ByteRange.resolve(canonical, size: entity) == .partial(range), "canonical header differs", input: tag)
        }
    }
    check(ByteRange.resolve(nil, size: entity) == .whole, "absent header is not whole", input: tag)
    return 0
}
