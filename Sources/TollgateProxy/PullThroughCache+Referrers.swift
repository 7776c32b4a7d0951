import Foundation
import NIOCore
import RegistryCore
import TollgateUpstream

/// One page of a subject's referrers, ready to be sent.
public struct ReferrersResult: Sendable {
    public var body: ByteBuffer
    public var contentType: String
    /// The upstream's `OCI-Filters-Applied` (the filters it applied, e.g. `artifactType`).
    public var filtersApplied: String?
    /// The query of the next page, when there is one.
    public var next: ReferrersQuery?
    public var outcome: CacheOutcome
}

extension PullThroughCache {
    /// The referrers of `subject` (OCI 1.1), asked of the upstream with the request's credentials
    /// and kept per audience and query: served from there within the upstream's `manifest_ttl`,
    /// and when the upstream fails (5xx, 429, unreachable). An upstream without the API answers
    /// 404, and so do we (clients then look for `sha256-<hex>` tags).
    public func referrers(
        from upstream: Upstream, _ repository: RepositoryName, subject: Digest, query: ReferrersQuery
    ) async throws -> ReferrersResult {
        let now = clock()
        let cached = try await index.store.referrers(
            upstream: upstream.name, repository: repository.value, subject: subject, query: query.encoded,
            audience: upstream.audience)
        if let cached, now - cached.fetchedAt < upstream.manifestTTL.seconds {
            return try Self.result(cached, outcome: .hit)
        }
        let notFound = RegistryError(
            .manifestUnknown, "upstream \(upstream.name) offers no referrers of \(subject) (no referrers API?)",
            detail: subject.description)
        var failure: RegistryError
        do {
            let response = try await upstream.client.referrers(
                repository, subject: subject, query: query.encoded, as: upstream.identity)
            if response.status == 200 {
                let record = try await Self.record(
                    response, upstream: upstream, repository, subject: subject, query: query, now: now)
                try await index.store.putReferrers(record)
                return try Self.result(record, outcome: .miss)
            }
            await response.discard()
            failure = UpstreamFailure.error(response, upstream: upstream.name, notFound: notFound)
            guard UpstreamFailure.allowsStale(status: response.status) else { throw failure }
        } catch let e as UpstreamError {
            failure = UpstreamFailure.error(e)
        }
        guard let cached else { throw failure }
        return try Self.result(cached, outcome: .stale)
    }

    /// Checks an upstream 200: an OCI image index of at most a manifest's size, a usable next page.
    private static func record(
        _ response: UpstreamResponse, upstream: Upstream, _ repository: RepositoryName, subject: Digest,
        query: ReferrersQuery, now: Double
    ) async throws -> ReferrersRecord {
        let unreadable = RegistryError(.badGateway, "upstream \(upstream.name) sent an unreadable referrers list")
        let body = try await response.document(
            upTo: maxManifestSize, upstream: upstream.name,
            tooLarge: RegistryError(
                .badGateway, "upstream \(upstream.name) sent a referrers list larger than \(maxManifestSize) bytes"))
        let bytes = Array(body.readableBytesView)
        guard response.contentType == MediaType.ociIndex, UpstreamReferrers.isIndex(Data(bytes)) else {
            throw unreadable
        }
        let next: ReferrersQuery?
        do {
            next = try ReferrersQuery.next(fromLink: response.headers[canonicalForm: "link"].map(String.init))
        } catch {
            throw unreadable
        }
        let filters = response.headers.first(name: "oci-filters-applied").flatMap(filterList)
        return ReferrersRecord(
            upstream: upstream.name, repository: repository.value, subject: subject, query: query.encoded,
            audience: upstream.audience, contentType: MediaType.ociIndex, filtersApplied: filters,
            nextQuery: next?.encoded, body: bytes, fetchedAt: now)
    }

    /// `OCI-Filters-Applied` as a comma-separated list of filter names; anything else is dropped.
    static func filterList(_ value: String) -> String? {
        let names = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.isEmpty, names.count <= 8,
            names.allSatisfy({ n in !n.isEmpty && n.count <= 64 && n.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") } })
        else { return nil }
        return names.joined(separator: ",")
    }

    private static func result(_ r: ReferrersRecord, outcome: CacheOutcome) throws -> ReferrersResult {
        ReferrersResult(
            body: ByteBuffer(bytes: r.body), contentType: r.contentType, filtersApplied: r.filtersApplied,
            next: try r.nextQuery.map { try ReferrersQuery(decoding: Substring($0)) }, outcome: outcome)
    }
}
