import Testing

@testable import RegistryCore

/// Inputs the fuzz targets under Fuzz/ (scripts/fuzz) turned up, kept as regression tests.
struct FuzzRegressionTests {
    /// A leading combining mark is not a name, tag or reference (Fuzz/RepositoryName, Tag,
    /// Reference: the mark merges into the preceding Character of a longer string).
    @Test(arguments: ["\u{0340}g.i", "\u{06E4}y", "\u{073F}3000000000000000000700a000000000070.0"])
    func leadingCombiningMark(_ s: String) {
        #expect(throws: RegistryError.self) { try RepositoryName(parsing: s) }
        #expect(throws: RegistryError.self) { try RepositoryName(parsing: ("\n" + s).dropFirst()) }
        #expect(throws: RegistryError.self) { try Tag(parsing: s) }
        #expect(throws: RegistryError.self) { try Reference(parsing: s) }
        #expect(throws: RegistryError.self) { try Digest(parsing: s) }
    }

    /// Fuzz/ByteRange: a suffix range of an entity larger than 10^18 bytes stays inside it.
    @Test func suffixRangeOfAHugeEntity() {
        let size: Int64 = 1_369_375_761_697_017_856
        #expect(ByteRange.resolve("bytes=-501", size: size) == .partial(ByteRange(start: size - 501, end: size - 1)))
        #expect(ByteRange.resolve("bytes=-501", size: .max) == .partial(ByteRange(start: .max - 501, end: .max - 1)))
        #expect(ByteRange.resolve("bytes=0-", size: .min) == .unsatisfiable)
    }

    /// An `Accept` header at Hummingbird's 80 KiB header limit with ~11,000 distinct types: the
    /// list keeps the first occurrence of each, in order. (Deduplicating with `types.contains`
    /// made this quadratic: 0.23 s per request in release builds, 2.6 s in debug.)
    @Test func acceptHeaderWithThousandsOfTypes() {
        var items: [String] = []
        var length = 0
        while length < 80 * 1024 {
            let t = "a/\(items.count)"
            items.append(t)
            length += t.utf8.count + 1
        }
        let list = AcceptList(headerValues: [items.joined(separator: ","), items.reversed().joined(separator: ", ")])
        #expect(list.types == items)
        #expect(list.accepts("a/0") && list.accepts("a/\(items.count - 1)"))
        #expect(!list.accepts(MediaType.ociManifest))
    }
}
