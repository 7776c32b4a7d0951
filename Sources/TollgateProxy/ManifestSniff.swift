import Foundation
import RegistryCore

/// Tells manifests from other blobs by their bytes. Registries keep manifests as blobs and most
/// serve them on the blob endpoint too; the mirror must not, or a manifest could be had without
/// counting a pull. Every manifest schema has `schemaVersion`; an image config or a layer has
/// not, together with `layers`, `manifests` or a manifest `mediaType`.
enum ManifestSniff {
    /// Manifests are at most this long (the mirror's own manifest limit).
    static let maxLength = PullThroughCache.maxManifestSize

    static func isManifest(_ bytes: some Collection<UInt8>) -> Bool {
        guard bytes.count <= maxLength, bytes.first(where: { !Self.isSpace($0) }) == UInt8(ascii: "{") else {
            return false
        }
        guard let probe = try? JSONDecoder().decode(Probe.self, from: Data(bytes)), probe.schemaVersion != nil else {
            return false
        }
        return probe.layers != nil || probe.manifests != nil || probe.fsLayers != nil
            || probe.mediaType.map { MediaType.isManifest($0) || $0 == MediaType.dockerSchema1 } == true
    }

    /// Whether a blob whose bytes `[at, total)` are `chunk` may still be a manifest: JSON (its
    /// first byte that is not white space is `{`) and no longer than a manifest can be.
    static func mayBe(prefix chunk: some Collection<UInt8>, at offset: Int64, total: Int64) -> Bool {
        guard total <= Int64(maxLength) else { return false }
        guard offset == 0, let first = chunk.first(where: { !isSpace($0) }) else { return true }
        return first == UInt8(ascii: "{")
    }

    private struct Probe: Decodable {
        var schemaVersion: Int?
        var mediaType: String?
        var layers: [Descriptor]?
        var manifests: [Descriptor]?
        var fsLayers: [Descriptor]?  // schema 1
        struct Descriptor: Decodable {}
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d }
}
