import Foundation
import NIOCore
import RegistryCore
import TollgateUpstream

public struct TagListResult: Sendable {
    public var tags: [String]
    /// More tags follow this page (the client gets a `Link` to them).
    public var hasMore: Bool
    public var outcome: CacheOutcome
}

extension PullThroughCache {
    static let maxTagListSize = 16 << 20

    /// One page of a repository's tags: upstream's list, or the cached tags when upstream fails.
    public func tags(from upstream: Upstream, _ repository: RepositoryName, page: Pagination) async throws
        -> TagListResult
    {
        var query: [String] = []
        if let n = page.limit { query.append("n=\(n)") }
        if let last = page.last {
            query.append("last=" + (last.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
        }
        var failure: RegistryError
        do {
            let response = try await upstream.client.tags(
                repository, query: query.isEmpty ? nil : query.joined(separator: "&"), as: upstream.identity)
            if response.status == 200 {
                let body = try await response.document(
                    upTo: Self.maxTagListSize, upstream: upstream.name,
                    tooLarge: RegistryError(
                        .badGateway, "upstream \(upstream.name) sent a tag list larger than \(Self.maxTagListSize) bytes"))
                guard let tags = UpstreamTagList.tags(from: Data(body.readableBytesView)) else {
                    throw RegistryError(.badGateway, "upstream \(upstream.name) sent an unreadable tag list")
                }
                let upstreamHasMore = response.headers["link"].contains { $0.contains("rel=\"next\"") }
                // Page again here: some registries (distribution 2.8) ignore `n` and `last` and
                // answer every tag unsorted; for one that paged properly this changes nothing.
                let (entries, hasMore) = page.page(of: tags)
                return TagListResult(tags: entries, hasMore: hasMore || upstreamHasMore, outcome: .pass)
            }
            await response.discard()
            failure = UpstreamFailure.error(response, upstream: upstream.name, notFound: .nameUnknown(repository.value))
            guard UpstreamFailure.allowsStale(status: response.status) else { throw failure }
        } catch let e as UpstreamError {
            failure = UpstreamFailure.error(e)
        }
        let cached = try await index.store.tags(
            upstream: upstream.name, repository: repository.value, audiences: upstream.visible)
        guard !cached.isEmpty else { throw failure }
        let (entries, hasMore) = page.page(of: cached)
        return TagListResult(tags: entries, hasMore: hasMore, outcome: .stale)
    }

    /// Every (upstream, repository) with content in the cache for any of `audiences` (a user's
    /// own private repositories are listed to that user only).
    public func cachedRepositories(audiences: [Audience]) async throws -> [RepositoryKey] {
        try await index.store.repositories(audiences: audiences)
    }
}
