import Foundation
import RegistryCore

// The JSON documents the proxy reads from upstream bodies, kept apart from `PullThroughCache`
// (which needs NIO and the storage) so the fuzz targets Fuzz/UpstreamManifest and
// Fuzz/UpstreamTagList can compile them alone.

/// Reading an image index (or Docker manifest list).
enum ImageIndex {
    /// The child a single-manifest client gets for a list: linux/amd64, as distribution picks it.
    static func defaultPlatformChild(of body: Data) -> Digest? {
        struct Index: Decodable {
            struct Entry: Decodable {
                struct Platform: Decodable {
                    var os: String?
                    var architecture: String?
                }
                var digest: String
                var platform: Platform?
            }
            var manifests: [Entry]
        }
        guard let index = try? JSONDecoder().decode(Index.self, from: body) else { return nil }
        let entry =
            index.manifests.first { $0.platform?.os == "linux" && $0.platform?.architecture == "amd64" }
            ?? index.manifests.first
        return entry.flatMap { try? Digest(parsing: $0.digest) }
    }
}

/// What kind of manifest an upstream sent.
enum ManifestMediaType {
    /// The manifest's media type: the upstream's Content-Type (its essence), or the document's own
    /// `mediaType`.
    static func detect(contentType: String?, body: Data) throws -> String {
        if let contentType, contentType == MediaType.dockerSchema1 || contentType == MediaType.dockerSchema1Signed {
            throw RegistryError(.unsupported, "schema 1 manifests are not supported")
        }
        if let contentType, MediaType.isManifest(contentType) { return contentType }
        struct Probe: Decodable {
            var mediaType: String?
            var schemaVersion: Int?
            var manifests: [Probe]?
        }
        let probe = try? JSONDecoder().decode(Probe.self, from: body)
        if let t = probe?.mediaType, MediaType.isManifest(t) { return t }
        if probe?.schemaVersion == 1 { throw RegistryError(.unsupported, "schema 1 manifests are not supported") }
        if probe?.manifests != nil { return MediaType.ociIndex }
        if let contentType, contentType.hasPrefix("application/"), contentType != "application/json",
            contentType != "application/octet-stream"
        {
            return contentType  // an artifact type we don't know but can pass on
        }
        if probe?.schemaVersion == 2 { return MediaType.ociManifest }
        throw RegistryError(.manifestInvalid, "upstream sent something that is not a manifest")
    }
}

/// An upstream's `tags/list` answer.
enum UpstreamTagList {
    /// The tags of `{"name": …, "tags": […]}`, sorted (`tags` missing or null: none); nil when the
    /// body is not such a document.
    static func tags(from body: Data) -> [String]? {
        struct TagList: Decodable { var tags: [String]? }
        guard let list = try? JSONDecoder().decode(TagList.self, from: body) else { return nil }
        return (list.tags ?? []).sorted()
    }
}
