import RegistryCore

/// A tag as last seen upstream.
public struct TagRecord: Sendable, Equatable {
    public var upstream: String
    public var repository: String
    public var tag: String
    public var digest: Digest
    /// Seconds since 1970 when the upstream last confirmed this tag.
    public var fetchedAt: Double
    /// Who resolved it: `shared`, or `user:<name>` when fetched with that user's own credentials.
    public var audience: Audience

    public init(
        upstream: String, repository: String, tag: String, digest: Digest, fetchedAt: Double, audience: Audience = .shared
    ) {
        self.audience = audience
        self.upstream = upstream
        self.repository = repository
        self.tag = tag
        self.digest = digest
        self.fetchedAt = fetchedAt
    }
}

/// One page of a subject's referrers (an OCI image index) as an upstream last answered it, for one
/// audience and query (`ReferrersQuery.encoded`: filter and page).
public struct ReferrersRecord: Sendable, Equatable {
    /// How long a page nobody refreshed is kept (seconds): `putReferrers` drops older ones.
    public static let retention: Double = 7 * 86400

    public var upstream: String
    public var repository: String
    public var subject: Digest
    public var query: String
    public var audience: Audience
    public var contentType: String
    /// The upstream's `OCI-Filters-Applied`.
    public var filtersApplied: String?
    /// The query of the next page (`ReferrersQuery.encoded`), if the upstream said there is one.
    public var nextQuery: String?
    public var body: [UInt8]
    /// Seconds since 1970 when the upstream answered this.
    public var fetchedAt: Double

    public init(
        upstream: String, repository: String, subject: Digest, query: String, audience: Audience, contentType: String,
        filtersApplied: String?, nextQuery: String?, body: [UInt8], fetchedAt: Double
    ) {
        self.upstream = upstream
        self.repository = repository
        self.subject = subject
        self.query = query
        self.audience = audience
        self.contentType = contentType
        self.filtersApplied = filtersApplied
        self.nextQuery = nextQuery
        self.body = body
        self.fetchedAt = fetchedAt
    }
}

/// What is known about a stored manifest (its bytes are a blob).
public struct ManifestRecord: Sendable, Equatable {
    public var digest: Digest
    public var mediaType: String
    public var size: Int64

    public init(digest: Digest, mediaType: String, size: Int64) {
        self.digest = digest
        self.mediaType = mediaType
        self.size = size
    }
}

/// Proof that content with `digest` belongs to (upstream, repository): it was fetched from, or
/// confirmed by, that repository upstream. Content is served for a repository only through a link.
public struct LinkRecord: Sendable, Equatable, Hashable {
    public var upstream: String
    public var repository: String
    public var digest: Digest
    public var size: Int64
    /// Who may be served this content: `shared`, or `user:<name>`.
    public var audience: Audience

    public init(upstream: String, repository: String, digest: Digest, size: Int64, audience: Audience = .shared) {
        self.audience = audience
        self.upstream = upstream
        self.repository = repository
        self.digest = digest
        self.size = size
    }
}

public struct RepositoryKey: Sendable, Hashable, Comparable {
    public var upstream: String
    public var repository: String
    public init(upstream: String, repository: String) {
        self.upstream = upstream
        self.repository = repository
    }
    public static func < (a: Self, b: Self) -> Bool {
        (a.upstream, a.repository) < (b.upstream, b.repository)
    }
}

/// The index of what the cache holds: tags, manifests, repository↔content links.
public protocol ContentIndexStore: Sendable {
    func tag(upstream: String, repository: String, tag: String, audience: Audience) async throws -> TagRecord?
    func putTag(_ record: TagRecord) async throws
    func deleteTag(upstream: String, repository: String, tag: String, audience: Audience) async throws
    /// Tag names known to any of `audiences`.
    func tags(upstream: String, repository: String, audiences: [Audience]) async throws -> [String]

    func manifest(_ digest: Digest) async throws -> ManifestRecord?
    func putManifest(_ record: ManifestRecord) async throws

    func link(upstream: String, repository: String, digest: Digest, audience: Audience) async throws -> LinkRecord?
    func putLink(_ record: LinkRecord) async throws
    /// Whether any repository of `upstream` has a link to `digest` (any audience): the bytes are
    /// known to have come from (or been confirmed by) that upstream.
    func hasLink(upstream: String, digest: Digest) async throws -> Bool

    func referrers(upstream: String, repository: String, subject: Digest, query: String, audience: Audience)
        async throws -> ReferrersRecord?
    /// Stores a page, replacing the one with the same key; pages nobody refreshed for
    /// `ReferrersRecord` retention (7 days) go at the same time.
    func putReferrers(_ record: ReferrersRecord) async throws

    /// Every (upstream, repository) with cached content, sorted.
    /// Repositories with content linked for any of `audiences`.
    func repositories(audiences: [Audience]) async throws -> [RepositoryKey]

    /// Every tag record of a repository, for every audience.
    func tagRecords(upstream: String, repository: String) async throws -> [TagRecord]
    /// Removes what `scope` covers, for every audience, in one step: its tags; its links — all of
    /// the upstream's or repository's, or for a tag only the repository's links to `tagLinks` —
    /// and its referrers pages (for a tag: those whose subject is in `tagLinks`). Returns how
    /// many tag records went and the digests whose links were removed.
    func evict(_ scope: CacheScope, tagLinks: Set<Digest>) async throws -> (tags: Int, unlinked: Set<Digest>)
    /// Whether any repository of any upstream links `digest`, for any audience.
    func isLinked(_ digest: Digest) async throws -> Bool
}
