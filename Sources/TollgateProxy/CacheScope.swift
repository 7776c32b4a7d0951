import RegistryCore

/// What an eviction removes from the cache: everything of an upstream, one repository of it, or
/// one tag of a repository (for every audience). Written `UPSTREAM`, `UPSTREAM/REPO` or
/// `UPSTREAM/REPO:TAG`, as `tollgate cache rm` takes it.
public struct CacheScope: Sendable, Hashable, CustomStringConvertible {
    public let upstream: String
    public let repository: RepositoryName?
    /// Only with a repository.
    public let tag: Tag?

    public init(upstream: String, repository: RepositoryName? = nil, tag: Tag? = nil) {
        self.upstream = upstream
        self.repository = repository
        self.tag = repository == nil ? nil : tag
    }

    /// Parses `UPSTREAM[/REPO[:TAG]]`. The upstream is everything before the first `/` (it may
    /// carry a port: `localhost:5000/team/app:1`); the tag is after the last `:` of the rest.
    public init(parsing s: String) throws(CacheScopeError) {
        guard !s.isEmpty, s.utf8.count <= 512 else { throw CacheScopeError("give UPSTREAM, UPSTREAM/REPOSITORY or UPSTREAM/REPOSITORY:TAG") }
        if s.contains("@") { throw CacheScopeError("\(s): evict by tag or repository, not by digest") }
        let upstream: Substring
        var rest: Substring?
        if let slash = s.firstIndex(of: "/") {
            upstream = s[..<slash]
            rest = s[s.index(after: slash)...]
        } else {
            upstream = Substring(s)
        }
        guard !upstream.isEmpty, upstream.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "/" }) else {
            throw CacheScopeError("\(s): no upstream name before the first /")
        }
        guard let rest else {
            self.init(upstream: String(upstream))
            return
        }
        var name = rest
        var tag: Tag?
        if let colon = rest.lastIndex(of: ":") {
            name = rest[..<colon]
            do {
                tag = try Tag(parsing: rest[rest.index(after: colon)...])
            } catch {
                throw CacheScopeError("\(s): \(String(rest[rest.index(after: colon)...]).prefix(64)) is not a tag")
            }
        }
        do {
            self.init(upstream: String(upstream), repository: try RepositoryName(parsing: name), tag: tag)
        } catch {
            throw CacheScopeError("\(s): \(String(name).prefix(64)) is not a repository name (lowercase, e.g. library/alpine)")
        }
    }

    public var description: String {
        var s = upstream
        if let repository { s += "/\(repository)" }
        if let tag { s += ":\(tag)" }
        return s
    }

    /// Whether (upstream, repository) is inside the scope.
    public func contains(upstream: String, repository: String) -> Bool {
        upstream == self.upstream && (self.repository.map { $0.value == repository } ?? true)
    }

    /// Whether a tag of (upstream, repository) is inside the scope.
    public func contains(upstream: String, repository: String, tag: String) -> Bool {
        contains(upstream: upstream, repository: repository) && (self.tag.map { $0.value == tag } ?? true)
    }
}

public struct CacheScopeError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What one eviction removed from this cache (compared by its counts).
public struct EvictionResult: Sendable, Equatable {
    /// Tag records (one per tag and audience).
    public var tags: Int = 0
    /// Blobs and manifests deleted because nothing else links them any more, and their bytes.
    public var blobs: Int = 0
    public var bytes: Int64 = 0
    /// For a tag whose records were here: the digests it named (manifests, configs, layers) that
    /// no other tag here names.
    public var named: Set<Digest> = []

    public init(tags: Int = 0, blobs: Int = 0, bytes: Int64 = 0) {
        self.tags = tags
        self.blobs = blobs
        self.bytes = bytes
    }

    public static func == (a: Self, b: Self) -> Bool { (a.tags, a.blobs, a.bytes) == (b.tags, b.blobs, b.bytes) }
}
