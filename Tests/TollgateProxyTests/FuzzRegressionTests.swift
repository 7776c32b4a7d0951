import Foundation
import RegistryCore
import Testing

@testable import TollgateProxy

/// Inputs the fuzz targets under Fuzz/ (scripts/fuzz) turned up, kept as regression tests.
struct FuzzRegressionTests {
    static let a = "sha256:" + String(repeating: "a", count: 64)
    static let b = "sha256:" + String(repeating: "b", count: 64)

    func child(_ entries: String) -> Digest? {
        ImageIndex.defaultPlatformChild(of: Data("{\"schemaVersion\":2,\"manifests\":[\(entries)]}".utf8))
    }

    /// Fuzz/UpstreamManifest: a list without a linux/amd64 entry gave a single-manifest client
    /// its first entry (another platform's image under the tag); distribution answers
    /// MANIFEST_UNKNOWN, and so do we now.
    @Test func listWithoutLinuxAmd64HasNoDefaultChild() throws {
        #expect(child("{\"digest\":\"\(Self.a)\",\"platform\":{\"os\":\"windows\",\"architecture\":\"amd64\"}}") == nil)
        #expect(child("{\"digest\":\"\(Self.a)\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}}") == nil)
        #expect(child("{\"digest\":\"\(Self.a)\"}") == nil)
        #expect(child("") == nil)
        let amd64 = "{\"digest\":\"\(Self.b)\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\",\"variant\":\"v3\"}}"
        #expect(child("{\"digest\":\"\(Self.a)\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}}," + amd64) == (try Digest(parsing: Self.b)))
    }

    /// Fuzz/UpstreamManifest: the probe decoded the children too, so one odd field anywhere (a
    /// child's numeric `mediaType`, a string `schemaVersion`) hid the document's own `mediaType`
    /// and a valid index or manifest sent as `application/json` was refused (502).
    @Test func odditiesElsewhereDoNotHideTheMediaType() throws {
        func detect(_ contentType: String?, _ json: String) throws -> String {
            try ManifestMediaType.detect(contentType: contentType, body: Data(json.utf8))
        }
        #expect(try detect("application/json", "{\"schemaVersion\":2,\"mediaType\":\"\(MediaType.ociIndex)\",\"manifests\":[{\"mediaType\":5}]}") == MediaType.ociIndex)
        #expect(try detect(nil, "{\"schemaVersion\":\"2\",\"mediaType\":\"\(MediaType.ociManifest)\"}") == MediaType.ociManifest)
        #expect(try detect(nil, "{\"schemaVersion\":2,\"manifests\":[1]}") == MediaType.ociIndex)
        #expect(try detect(nil, "{\"schemaVersion\":2,\"config\":{}}") == MediaType.ociManifest)
        #expect(throws: RegistryError.self) { try detect(nil, "{\"schemaVersion\":1,\"fsLayers\":[]}") }
        #expect(throws: RegistryError.self) { try detect("application/json", "{\"manifests\":null}") }
    }

    func tags(_ json: String) -> [String]? { UpstreamTagList.tags(from: Data(json.utf8)) }

    /// Fuzz/UpstreamTagList: an upstream's duplicate tags were served twice (a page must be in
    /// strict lexical order), and entries that are no tags were passed on: a client can't pull
    /// them, and an over-long one as the page's last entry made the next page's `last` invalid.
    @Test func tagListsKeepValidTagsOnce() {
        #expect(tags("{\"tags\":[\"b\",\"a\",\"b\",\"a\"]}") == ["a", "b"])
        let long = String(repeating: "x", count: 129)
        #expect(tags("{\"tags\":[\"../x\",\"a b\",\"\",\"-x\",\"\(long)\",\"\u{e9}t\u{e9}\",\"ok_1.0-rc\",\"_\"]}") == ["_", "ok_1.0-rc"])
        let page = Pagination(limit: 1, last: nil).page(of: tags("{\"tags\":[\"a\",\"a\",\"b\"]}")!)
        #expect(page.entries == ["a"] && page.hasMore)
    }

    @Test func tagListShapes() {
        #expect(tags("{\"name\":\"a/b\",\"tags\":null}") == [])
        #expect(tags("{\"name\":\"a/b\"}") == [])
        #expect(tags("{\"tags\":[1]}") == nil)
        #expect(tags("[]") == nil)
    }
}
