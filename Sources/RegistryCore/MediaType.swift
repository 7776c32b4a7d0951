/// Manifest media types a pull-through mirror deals with, and `Accept` negotiation.
public enum MediaType {
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    /// Schema 1 is dead upstream (Hub and distribution v3 refuse it); it is never cached.
    public static let dockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json"
    public static let dockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"

    /// The four manifest types every modern client accepts, as we ask upstream for them.
    public static let allManifests = [dockerManifest, dockerManifestList, ociManifest, ociIndex]

    public static func isManifest(_ type: String) -> Bool { allManifests.contains(type) }

    /// `type/subtype` of RFC 6838 restricted-name characters (no parameters), at most 255 bytes:
    /// what an OCI `artifactType` may be.
    public static func isWellFormed(_ s: String) -> Bool {
        let parts = s.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard s.utf8.count <= 255, parts.count == 2 else { return false }
        return parts.allSatisfy { part in
            guard let first = part.first, ASCII.isAlphanumeric(first), part.count <= 127 else { return false }
            return part.allSatisfy { ASCII.isAlphanumeric($0) || Array("!#$&-^_.+".utf8).contains($0) }
        }
    }

    /// The bare type of a `Content-Type` value: parameters and case dropped.
    public static func essence(_ value: some StringProtocol) -> String {
        let bare = value.split(separator: ";", maxSplits: 1).first ?? ""
        return bare.trimmingASCIISpaces().lowercased()
    }
}

/// The media types a client said it accepts, merged from every `Accept` header line.
public struct AcceptList: Sendable, Equatable {
    public private(set) var types: [String]

    public init(headerValues: [String]) {
        var types: [String] = []
        var seen: Set<String> = []  // not `types.contains`: quadratic in a hostile 80 KiB header
        for line in headerValues {
            for item in line.split(separator: ",") {
                let t = MediaType.essence(item)
                if !t.isEmpty, seen.insert(t).inserted { types.append(t) }
            }
        }
        self.types = types
    }

    /// No Accept at all, or a wildcard: the client takes whatever the manifest is.
    public var acceptsAnything: Bool { types.isEmpty || types.contains("*/*") }

    public func accepts(_ mediaType: String) -> Bool {
        if acceptsAnything { return true }
        if types.contains(mediaType) { return true }
        // `application/*` style wildcards.
        if let slash = mediaType.firstIndex(of: "/") {
            return types.contains(mediaType[..<slash] + "/*")
        }
        return false
    }
}

extension StringProtocol {
    func trimmingASCIISpaces() -> Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
