import Foundation
import RegistryCore

// The JSON documents the proxy reads from upstream bodies, kept apart from `PullThroughCache`
// (which needs NIO and the storage) so the fuzz targets Fuzz/UpstreamManifest and
// Fuzz/UpstreamTagList can compile them alone.

/// Reading an image index (or Docker manifest list).
enum ImageIndex {
    /// The child a single-manifest client gets for a list: the first linux/amd64 entry, as
    /// distribution picks it; nil (MANIFEST_UNKNOWN) for a list without one, rather than another
    /// platform's image under the same tag.
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
        let entry = index.manifests.first { $0.platform?.os == "linux" && $0.platform?.architecture == "amd64" }
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
        let probe = try? JSONDecoder().decode(Probe.self, from: body)
        if let t = probe?.mediaType, MediaType.isManifest(t) { return t }
        if probe?.schemaVersion == 1 { throw RegistryError(.unsupported, "schema 1 manifests are not supported") }
        if probe?.isIndex == true { return MediaType.ociIndex }
        if probe != nil, let contentType, contentType.hasPrefix("application/vnd.") {
            // An artifact type we don't know but can pass on: a JSON document of a vendor type
            // (never a type a browser would render, such as HTML or XHTML).
            return contentType
        }
        if probe?.schemaVersion == 2 { return MediaType.ociManifest }
        throw RegistryError(.manifestInvalid, "upstream sent something that is not a manifest")
    }

    /// The fields that say what a document is, each read on its own: an odd value elsewhere (a
    /// child's numeric `mediaType`, a string `schemaVersion`) doesn't hide the document's `mediaType`.
    private struct Probe: Decodable {
        var mediaType: String?
        var schemaVersion: Int?
        var isIndex: Bool

        private enum Key: String, CodingKey { case mediaType, schemaVersion, manifests }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            mediaType = try? c.decode(String.self, forKey: .mediaType)
            schemaVersion = try? c.decode(Int.self, forKey: .schemaVersion)
            isIndex = (try? c.nestedUnkeyedContainer(forKey: .manifests)) != nil
        }
    }
}

/// An upstream's `tags/list` answer.
enum UpstreamTagList {
    /// The tags of `{"name": …, "tags": […]}`, sorted, once each (`tags` missing or null: none);
    /// nil when the body is not such a document. Entries that are not valid tags are dropped: a
    /// client could neither pull them nor page past them (`last` is at most 512 bytes).
    static func tags(from body: Data) -> [String]? {
        struct TagList: Decodable { var tags: [String]? }
        guard let list = try? JSONDecoder().decode(TagList.self, from: body) else { return nil }
        var tags: [String] = []
        for t in (list.tags ?? []).filter({ (try? Tag(parsing: $0)) != nil }).sorted() where t != tags.last {
            tags.append(t)
        }
        return tags
    }
}

/// An upstream's answer to a referrers request (OCI distribution-spec 1.1): an image index.
enum UpstreamReferrers {
    /// Whether `body` is an image index: `schemaVersion` 2, a `manifests` array of descriptors
    /// (media type, digest, size each), and no `mediaType` other than the OCI index's.
    static func isIndex(_ body: Data) -> Bool {
        struct Index: Decodable {
            var schemaVersion: Int
            var mediaType: String?
            var manifests: [Descriptor]
        }
        struct Descriptor: Decodable {
            var mediaType: String
            var digest: String
            var size: Int64
        }
        guard let index = try? JSONDecoder().decode(Index.self, from: body), index.schemaVersion == 2 else {
            return false
        }
        return (index.mediaType ?? MediaType.ociIndex) == MediaType.ociIndex
            && index.manifests.allSatisfy { (try? Digest(parsing: $0.digest)) != nil && $0.size >= 0 }
    }
}

/// The descriptors a manifest or image index names: an index's manifests, an image manifest's
/// config and layers (schema 1: `fsLayers`); not a `subject`, which is another image.
struct ManifestDescriptors: Decodable {
    struct Descriptor: Decodable {
        var digest: String
        var size: Int64?
    }
    struct Layer: Decodable { var blobSum: String }

    var manifests: [Descriptor]?
    var config: Descriptor?
    var layers: [Descriptor]?
    var fsLayers: [Layer]?

    /// Nil when the bytes are not such a document.
    init?(_ body: some Collection<UInt8>) {
        guard let d = try? JSONDecoder().decode(Self.self, from: Data(body)) else { return nil }
        self = d
    }

    /// The (digest, size) pairs of an image manifest's config and layers, where the size is given.
    var declaredSizes: [(Digest, Int64)] {
        ((config.map { [$0] } ?? []) + (layers ?? [])).compactMap { d in
            guard let size = d.size, size >= 0, let digest = try? Digest(parsing: d.digest) else { return nil }
            return (digest, size)
        }
    }

    /// Every digest named: child manifests, config, layers.
    var digests: [Digest] {
        let named = (manifests ?? []).map(\.digest) + (config.map { [$0.digest] } ?? []) + (layers ?? []).map(\.digest)
            + (fsLayers ?? []).map(\.blobSum)
        return named.compactMap { try? Digest(parsing: $0) }
    }
}
