/// The endpoint a `/v2/…` request path names. Parsing validates the name, reference and digest
/// before anything touches a file or an upstream.
public enum RegistryPath: Equatable, Sendable {
    /// `/v2/` — the API version check (and login probe).
    case base
    case catalog
    case manifest(RepositoryName, Reference)
    case blob(RepositoryName, Digest)
    case tags(RepositoryName)
    case referrers(RepositoryName, Digest)
    /// Upload endpoints (`/blobs/uploads/…`): recognised only to answer UNSUPPORTED.
    case upload(RepositoryName)

    /// Longest path accepted at all.
    public static let maxPathLength = 1024

    /// Parses `path` (no query string). Returns nil when it is not a `/v2` path at all.
    public static func parse(_ path: String) throws -> RegistryPath? {
        guard path == "/v2" || path.hasPrefix("/v2/") else { return nil }
        guard path.utf8.count <= maxPathLength else { throw RegistryError.nameInvalid("request path too long") }
        // Names, tags and digests never need escapes; refusing `%` keeps `%2e%2e` and friends out.
        guard !path.utf8.contains(UInt8(ascii: "%")), !path.utf8.contains(UInt8(ascii: "\\")) else {
            throw RegistryError.nameInvalid("escaped characters are not allowed in registry paths")
        }
        if path == "/v2" || path == "/v2/" { return .base }
        var rest = path.dropFirst(4)  // after "/v2/"
        if rest == "_catalog" { return .catalog }
        if rest.hasSuffix("/") { rest = rest.dropLast() }

        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 2 else { throw RegistryError.nameInvalid("no repository name in path") }
        // Find the route suffix from the right: names contain slashes.
        let n = parts.count
        if n >= 3, parts[n - 2] == "tags", parts[n - 1] == "list" {
            return .tags(try name(parts[..<(n - 2)]))
        }
        if n >= 3, parts[n - 2] == "manifests" {
            let repository = try name(parts[..<(n - 2)])
            // The spec's only failure for a manifest reference is 404: a reference that is neither
            // a tag nor a digest names no manifest.
            guard let reference = try? Reference(parsing: parts[n - 1]) else {
                throw RegistryError(
                    .manifestUnknown, "manifest unknown: not a valid tag or digest",
                    detail: String(parts[n - 1].prefix(128)))
            }
            return .manifest(repository, reference)
        }
        if n >= 3, parts[n - 2] == "blobs" {
            if parts[n - 1] == "uploads" { return .upload(try name(parts[..<(n - 2)])) }
            return .blob(try name(parts[..<(n - 2)]), try Digest(parsing: parts[n - 1]))
        }
        if n >= 4, parts[n - 3] == "blobs", parts[n - 2] == "uploads" {
            return .upload(try name(parts[..<(n - 3)]))
        }
        if n >= 3, parts[n - 2] == "referrers" {
            return .referrers(try name(parts[..<(n - 2)]), try Digest(parsing: parts[n - 1]))
        }
        if n >= 2, parts[n - 1] == "manifests" || parts[n - 1] == "blobs" {
            throw RegistryError(.nameInvalid, "missing reference in path")
        }
        throw RegistryError(.nameUnknown, "unknown registry endpoint", detail: String(rest.prefix(128)))
    }

    private static func name(_ parts: ArraySlice<Substring>) throws -> RepositoryName {
        try RepositoryName(parsing: parts.joined(separator: "/"))
    }

    public var repository: RepositoryName? {
        switch self {
        case .base, .catalog: nil
        case .manifest(let n, _), .blob(let n, _), .tags(let n), .referrers(let n, _), .upload(let n): n
        }
    }
}
