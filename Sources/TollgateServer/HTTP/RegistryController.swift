import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RegistryCore
import TollgateAuth
import TollgateCluster
import TollgateProxy

/// The `/v2/` pull API: parses and validates the request, routes it to an upstream, applies the
/// caller's access policy (on `<upstream>/<repository>`), picks the credentials it goes upstream
/// with (the caller's own, else the shared ones), asks the cache, and turns the answer into a
/// response.
struct RegistryController: Sendable {
    let cache: PullThroughCache
    let upstreams: [UpstreamName: Upstream]
    let router: UpstreamRouter
    let policies: PolicyBook
    let credentials: UpstreamCredentialBook
    /// Cluster mode: content this node doesn't hold goes to its owner.
    var cluster: ClusterForwarding? = nil

    func addRoutes(to r: Router<TollgateContext>) {
        for path in ["/v2", "/v2/**"] {
            for method in [HTTPRequest.Method.get, .head, .post, .put, .patch, .delete] {
                r.on(RouterPath(path), method: method) { request, context in
                    try await self.handle(request, context: context)
                }
            }
        }
    }

    func handle(_ request: Request, context: TollgateContext) async throws -> Response {
        guard request.method == .get || request.method == .head else { throw RegistryError.unsupported }
        guard let endpoint = try context.endpoint ?? RegistryPath.parse(request.uri.path) else {
            throw RegistryError(.nameUnknown, "not a registry API path")
        }
        let head = request.method == .head
        switch endpoint {
        case .base:
            return Self.json("{}", head: head)
        case .catalog:
            return try await catalog(request, context, head: head)
        case .upload:
            throw RegistryError.unsupported
        case .referrers(let name, let subject):
            let (upstream, route) = try resolve(name, request, context)
            let query = try ReferrersQuery(decoding: Substring(request.uri.query ?? ""))
            let result = try await cache.referrers(from: upstream, route.repository, subject: subject, query: query)
            context.notes.record(cache: result.outcome.rawValue)
            var headers: HTTPFields = [
                .contentType: result.contentType, .contentLength: String(result.body.readableBytes),
                .xCache: result.outcome.rawValue,
            ]
            if let filters = result.filtersApplied { headers[.ociFiltersApplied] = filters }
            if let next = result.next {
                // The next page, on the mirror, for the name the client used.
                headers[.link] = Self.nextLink(
                    path: "/v2/\(name)/referrers/\(subject)", query: next.encoded,
                    ns: request.uri.queryParameters["ns"].map(String.init))
            }
            return Response(status: .ok, headers: headers, body: head ? ResponseBody() : ResponseBody(byteBuffer: result.body))
        case .manifest(let name, let reference):
            let (upstream, route) = try resolve(name, request, context)
            let accept = AcceptList(headerValues: request.headers[values: .accept])
            // Cluster mode: a digest's bytes are the same everywhere, served from here when here;
            // a tag's meaning belongs to its owner.
            var local: ManifestResult?
            if let cluster, context.notes.forwardedBy == nil {
                if case .digest(let digest) = reference {
                    local = try await cache.localManifest(from: upstream, route.repository, digest)
                }
                if local == nil, let owner = cluster.otherOwner(of: Self.ownerKey(route, reference)),
                    let forwarded = await forward(
                        request, route, "manifests/\(reference)", to: owner, cluster, context,
                        collectUpTo: PullThroughCache.maxManifestSize)
                {
                    var answer = forwarded.response
                    if case .digest(let digest) = reference, let bytes = forwarded.body {
                        await cache.keepForwarded(
                            bytes, digest: digest, contentType: answer.headers[.contentType], from: upstream, route.repository)
                    }
                    if answer.headers[.tollgatePullCharge] != nil {
                        answer.headers[.tollgatePullCharge] = nil
                        if head { try await context.pullCharge?.charge() }
                    }
                    return answer
                }
            }
            let result: ManifestResult
            if let local {
                result = local
            } else if head, let answer = try await cache.manifestHead(from: upstream, route.repository, reference, accept: accept) {
                result = answer
            } else {
                // A HEAD that takes an upstream GET costs the caller a pull, as the GET would
                // (a forwarded one: charged by the node that forwarded it, told so by a header).
                if head, context.notes.forwardedBy != nil {
                    context.notes.record(pullCharge: true)
                } else if head {
                    try await context.pullCharge?.charge()
                }
                result = try await cache.manifest(from: upstream, route.repository, reference, accept: accept)
            }
            context.notes.record(cache: result.outcome.rawValue)
            if case .tag(let tag) = reference {
                cache.notePull(upstream: upstream.name, repository: route.repository, tag: tag, user: context.notes.user)
            }
            let etag = "\"\(result.digest)\""
            var headers: HTTPFields = [
                .contentType: result.mediaType,
                .contentLength: String(result.length),
                .dockerContentDigest: result.digest.description,
                .eTag: etag,
                .xCache: result.outcome.rawValue,
            ]
            if let warning = result.warning { headers[.warning] = "299 - \(JSONString.quote(warning))" }
            if context.notes.pullCharge { headers[.tollgatePullCharge] = "1" }
            if request.headers[values: .ifNoneMatch].contains(where: { $0.contains(etag) }) {
                return Response(status: .notModified, headers: headers)
            }
            return Response(status: .ok, headers: headers, body: head ? ResponseBody() : ResponseBody(byteBuffer: result.bytes))
        case .blob(let name, let digest):
            let (upstream, route) = try resolve(name, request, context)
            // Cluster mode: what this node holds (or is downloading) it serves; the rest comes
            // from the owner.
            var local: BlobResult?
            if let cluster, context.notes.forwardedBy == nil {
                local = try await cache.localBlob(from: upstream, route.repository, digest, head: head)
                if local == nil, let owner = cluster.otherOwner(of: digest.description),
                    let answer = await forward(
                        request, route, "blobs/\(digest)", to: owner, cluster, context,
                        resume: { [cache] offset, write in
                            // The rest from this node: its cache, else a download of its own.
                            let rest = try await cache.blob(from: upstream, route.repository, digest, head: false)
                            var size = rest.size
                            if size == nil, case .fill(let fill) = rest.body { size = try await fill.waitUntilVerified() }
                            guard let size, offset < size else {
                                throw RegistryError(.blobUnknown, "blob changed size while being relayed", detail: digest.description)
                            }
                            try await cache.stream(rest.body, range: ByteRange(start: offset, end: size - 1), write: write)
                        })
                {
                    return answer.response
                }
            }
            var result: BlobResult
            if let local {
                result = local
            } else {
                result = try await cache.blob(from: upstream, route.repository, digest, head: head)
            }
            if !head, request.headers[.range] != nil, case .fill(let fill) = result.body {
                // A ranged read of a running download waits for the verified blob: a 206 is never
                // made of bytes that later fail the digest check (and its size is known then).
                result.size = try await fill.waitUntilVerified()
                result.bound = result.size
            }
            context.notes.record(cache: result.outcome.rawValue)
            if result.size == nil { context.notes.record(transferBound: result.bound) }
            return blobResponse(result, rangeHeader: request.headers[.range], head: head, context: context)
        case .tags(let name):
            let (upstream, route) = try resolve(name, request, context)
            let q = request.uri.queryParameters
            let page = try Pagination(n: q["n"].map(String.init), last: q["last"].map(String.init))
            let result = try await cache.tags(from: upstream, route.repository, page: page)
            context.notes.record(cache: result.outcome.rawValue)
            var headers: HTTPFields = [.xCache: result.outcome.rawValue]
            if result.hasMore, let last = result.tags.last {
                headers[.link] = Self.nextLink(
                    path: "/v2/\(name)/tags/list", query: Self.pageQuery(n: page.limit ?? result.tags.count, last: last),
                    ns: q["ns"].map(String.init))
            }
            let body = "{\"name\":\(JSONString.quote(name.value)),\"tags\":[\(result.tags.map(JSONString.quote).joined(separator: ","))]}"
            return Self.json(body, head: head, headers: headers)
        }
    }

    /// Which owner a manifest has: a digest's, or its repository's for a tag (so one node keeps
    /// each tag fresh).
    static func ownerKey(_ route: UpstreamRouter.Route, _ reference: Reference) -> String {
        switch reference {
        case .digest(let digest): digest.description
        case .tag: "\(route.upstream)/\(route.repository)"
        }
    }

    /// The owner's answer to this request, for the resolved upstream and repository (named
    /// explicitly: `?ns=`), noted for the access log and limits; nil when the owner can't answer.
    private func forward(
        _ request: Request, _ route: UpstreamRouter.Route, _ rest: String, to owner: NodeRecord,
        _ cluster: ClusterForwarding, _ context: TollgateContext, collectUpTo limit: Int? = nil,
        resume: ClusterForwarding.Resume? = nil
    ) async -> (response: Response, body: ByteBuffer?)? {
        let target = "/v2/\(route.repository)/\(rest)?ns=\(route.upstream)"
        guard
            let answer = await cluster.forward(
                request, target: target, to: owner, identity: context.identity ?? .anonymous,
                client: context.clientAddress, on: context.eventLoop, head: request.method == .head, collectUpTo: limit,
                resume: request.headers[.range] == nil ? resume : nil)
        else { return nil }
        context.notes.record(cache: answer.response.headers[.xCache] ?? "-")
        context.notes.record(forwardedTo: owner.name)
        if request.method == .get, answer.body == nil {
            context.notes.record(streaming: true)
            if answer.response.headers[.contentLength] == nil { context.notes.record(transferBound: cache.maxBlobSize) }
        }
        return answer
    }

    /// The upstream (acting with the caller's credentials) and repository for a name; NAME_UNKNOWN,
    /// or DENIED when the caller's policy doesn't allow `<upstream>/<repository>`.
    private func resolve(_ name: RepositoryName, _ request: Request, _ context: TollgateContext) throws
        -> (Upstream, UpstreamRouter.Route)
    {
        let ns = request.uri.queryParameters["ns"].map(String.init)
        let route = try router.route(name: name, namespace: ns, host: request.head.authority)
        guard let upstream = upstreams[route.upstream] else {
            throw RegistryError(.nameUnknown, "upstream \(route.upstream) is not configured")
        }
        context.notes.record(upstream: route.upstream.value)
        let user = context.identity?.user
        let policy = policies.policy(for: user)
        guard policy.allowsEverything || policy.allows("\(route.upstream)/\(route.repository)") else {
            throw policies.refusal(name.value)
        }
        if let user, let own = credentials.identity(user: user, upstream: route.upstream) {
            return (upstream.acting(as: own), route)
        }
        return (upstream, route)
    }

    private func blobResponse(_ result: BlobResult, rangeHeader: String?, head: Bool, context: TollgateContext)
        -> Response
    {
        var headers: HTTPFields = [
            .contentType: "application/octet-stream",
            .dockerContentDigest: result.digest.description,
            .eTag: "\"\(result.digest)\"",
            .xCache: result.outcome.rawValue,
        ]
        guard let size = result.size else {
            // Upstream sent no length: stream chunked, whole blob.
            context.notes.record(streaming: true)
            let cache = self.cache
            let body = result.body
            return Response(
                status: .ok, headers: headers,
                body: head ? ResponseBody() : ResponseBody { writer in
                    try await cache.stream(body, range: nil) { try await writer.write($0) }
                    try await writer.finish(nil)
                })
        }
        headers[.acceptRanges] = "bytes"
        var status = HTTPResponse.Status.ok
        var range: ByteRange?
        if !head {
            switch ByteRange.resolve(rangeHeader, size: size) {
            case .whole:
                break
            case .partial(let r):
                range = r
                status = .partialContent
                headers[.contentRange] = r.contentRange(size: size)
            case .unsatisfiable:
                var response = RegistryErrorMiddleware.response(
                    RegistryError(.rangeInvalid, "requested range not satisfiable", detail: rangeHeader), head: false)
                response.headers[.contentRange] = "bytes */\(size)"
                return response
            }
        }
        let length = range?.count ?? size
        headers[.contentLength] = String(length)
        if head { return Response(status: status, headers: headers) }
        if case .memory(let bytes) = result.body {
            let slice = range.flatMap { bytes.getSlice(at: Int($0.start), length: Int($0.count)) } ?? bytes
            return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: slice))
        }
        context.notes.record(streaming: true)
        let cache = self.cache
        let body = result.body
        let sendRange = range
        return Response(
            status: status, headers: headers,
            body: ResponseBody(contentLength: Int(length)) { writer in
                try await cache.stream(body, range: sendRange) { try await writer.write($0) }
                try await writer.finish(nil)
            })
    }

    /// `/v2/_catalog`: the repositories that have content in the cache, as pullable names
    /// (`<upstream>/<repository>`), that the caller may pull: shared content their policy allows,
    /// and what they fetched with their own credentials.
    private func catalog(_ request: Request, _ context: TollgateContext, head: Bool) async throws -> Response {
        let q = request.uri.queryParameters
        let page = try Pagination(n: q["n"].map(String.init), last: q["last"].map(String.init))
        let user = context.identity?.user
        let policy = policies.policy(for: user)
        let audiences = user.map { [Audience.shared, Audience.user($0)] } ?? [Audience.shared]
        var names = try await cache.cachedRepositories(audiences: audiences).map { "\($0.upstream)/\($0.repository)" }
            .filter { policy.allows($0) }
        if let cluster, context.notes.forwardedBy == nil {
            // Each node lists what its own share of the cache holds for this caller.
            names += await cluster.catalogs(identity: context.identity ?? .anonymous, client: context.clientAddress)
        }
        names = Array(Set(names)).sorted()
        let (entries, hasMore) = page.page(of: names)
        var headers: HTTPFields = [:]
        if hasMore, let last = entries.last {
            headers[.link] = Self.nextLink(
                path: "/v2/_catalog", query: Self.pageQuery(n: page.limit ?? entries.count, last: last), ns: nil)
        }
        let body = "{\"repositories\":[\(entries.map(JSONString.quote).joined(separator: ","))]}"
        return Self.json(body, head: head, headers: headers)
    }

    /// A `Link` to the next page, on the mirror itself (relative, as distribution does); `query`
    /// is encoded already, the client's `ns` is kept.
    static func nextLink(path: String, query: String, ns: String?) -> String {
        var query = query
        if let ns { query += (query.isEmpty ? "" : "&") + "ns=" + FormURLEncoding.encode(ns) }
        return "<\(path)\(query.isEmpty ? "" : "?" + query)>; rel=\"next\""
    }

    /// `n=…&last=…` of a tag list or catalog page.
    static func pageQuery(n: Int, last: String) -> String { "n=\(n)&last=\(FormURLEncoding.encode(last))" }

    static func json(_ text: String, head: Bool, headers extra: HTTPFields = [:]) -> Response {
        let body = ByteBuffer(string: text)
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8", .contentLength: String(body.readableBytes)]
        headers.append(contentsOf: extra)
        return Response(status: .ok, headers: headers, body: head ? ResponseBody() : ResponseBody(byteBuffer: body))
    }
}
