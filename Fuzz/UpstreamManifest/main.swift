// ManifestMediaType.detect and ImageIndex.defaultPlatformChild — what the proxy reads from an
// upstream's manifest: its media type (Content-Type or the document's own), and the linux/amd64
// child of a list for a client that takes single manifests. First input line: the Content-Type
// (empty: none); the rest: the body. Compared with what JSONSerialization reads from the body.
import Foundation
import RegistryCore
@testable import TollgateProxy

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUpstreamManifest(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = fuzzBytes(data, size)
    let s = fuzzText(data, size)
    let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
    let header = String(decoding: bytes[..<newline], as: UTF8.self)
    let contentType = header.isEmpty ? nil : MediaType.essence(header)  // as UpstreamResponse reads it
    let body = Data(bytes[min(newline + 1, bytes.endIndex)...])

    let json = try? JSONDecoder().decode(JSONValue.self, from: body)
    let documentType = json?["mediaType"]?.string
    let declared = contentType.map { MediaType.isManifest($0) || $0 == MediaType.dockerSchema1 || $0 == MediaType.dockerSchema1Signed } ?? false

    do {
        let t = try ManifestMediaType.detect(contentType: contentType, body: body)
        check(t != MediaType.dockerSchema1 && t != MediaType.dockerSchema1Signed, "schema 1 accepted", input: s)
        check(
            MediaType.isManifest(t) || (t == contentType && t.hasPrefix("application/") && t != "application/json"
                && t != "application/octet-stream"),
            "media type \(escaped(t))", input: s)
        if let contentType, MediaType.isManifest(contentType) { check(t == contentType, "Content-Type not used", input: s) }
        if !declared, let documentType, MediaType.isManifest(documentType) {
            check(t == documentType, "the document's mediaType \(documentType) became \(t)", input: s)
        }
    } catch let e as RegistryError {
        check(e.code == .unsupported || e.code == .manifestInvalid, "error \(e.code)", input: s)
        if !declared, let documentType, MediaType.isManifest(documentType) {
            check(false, "the document's mediaType \(documentType) was refused: \(e.message)", input: s)
        }
    } catch {
        check(false, "unexpected error \(error)", input: s)
    }

    // The single-manifest child: one of the list's digests, and the first linux/amd64 entry.
    let child = ImageIndex.defaultPlatformChild(of: body)
    let entries = json?["manifests"]?.array
    if let child, json != nil {  // (else JSONDecoder may still read it: it checks only the strings it decodes)
        check(entries?.contains { $0["digest"]?.string.flatMap { try? Digest(parsing: $0) } == child } == true, "child \(child) is not in the list", input: s)
    }
    // The reference, where every entry is one the Codable index reads (a string digest; a platform
    // that is absent, null, or has string or null os and architecture).
    func readable(_ v: JSONValue?) -> Bool { v == nil || v == .null || v?.string != nil }
    if let entries, entries.allSatisfy({ e in
        e["digest"]?.string != nil
            && (e["platform"] == nil || e["platform"] == .null
                || (e["platform"]!.isObject && readable(e["platform"]!["os"]) && readable(e["platform"]!["architecture"])))
    }) {
        let amd64 = entries.first { $0["platform"]?["os"]?.string == "linux" && $0["platform"]?["architecture"]?.string == "amd64" }
        let expected = (amd64?["digest"]?.string).flatMap { try? Digest(parsing: $0) }
        check(child == expected, "child \(child.map { "\($0)" } ?? "nil"), the first linux/amd64 entry: \(expected.map { "\($0)" } ?? "nil")", input: s)
    }
    return 0
}
