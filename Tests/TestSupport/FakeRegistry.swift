import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RegistryCore
import ServiceLifecycle
import Synchronization

/// A small upstream registry for unit tests: serves manifests and blobs from memory, and
/// produces the faults real registries won't (wrong bytes, slow bodies, errors on demand).
/// Real-registry behaviour is covered by the end-to-end suite against Debian's docker-registry.
public final class FakeRegistry: Sendable {
    public struct Options: Sendable {
        /// Require `Authorization: Bearer <token>` obtained from `/token` (anonymous tokens allowed).
        public var bearer = false
        /// Only tokens issued in this epoch are accepted: raising it revokes every token out.
        public var tokenEpoch = 0
        /// Require Basic `user:password` on every /v2 request.
        public var basic: (String, String)?
        /// Serve blob GETs as a 307 to this base URL (a "CDN").
        public var blobRedirect: String?
        /// With `blobRedirect`: redirect manifest and tag-list requests there too.
        public var redirectAll = false
        /// The CDN (`cdnRouter`) answers every request 401 with this `WWW-Authenticate`.
        public var cdnChallenge: String?
        /// `/token` answers a 307 to this URL instead of a token.
        public var tokenRedirect: String?
        /// Answer every blob HEAD 200 (known blob or not) without a Content-Length, or with this
        /// one: an upstream that says yes to anything.
        public var lyingHead: LyingHead?
        /// Answer every /v2 request except `/v2/` with this status.
        public var failStatus: Int?
        /// Blobs whose bytes are served wrong (last byte flipped).
        public var corrupt: Set<Digest> = []
        /// Pause between 64 KiB body chunks.
        public var chunkDelay: Duration = .zero
        /// Blobs served without a Content-Length (chunked).
        public var chunked: Set<Digest> = []
        /// Digests whose blob GET is an endless chunked body (until the client goes away).
        public var endless: Set<Digest> = []
        /// Referrers API: nil = not offered (404, as distribution 2.8 and Docker Hub); else
        /// pages of at most this many descriptors, the next one named by an absolute `Link`.
        public var referrersPageSize: Int? = nil
        public init() {}
    }

    public enum LyingHead: Sendable {
        case withoutLength
        case length(Int)
    }

    struct State {
        var options = Options()
        var manifests: [String: (mediaType: String, bytes: [UInt8])] = [:]  // "repo@ref" → manifest
        var referrers: [String: [(digest: Digest, size: Int, artifactType: String)]] = [:]  // "repo@subject"
        var blobs: [Digest: [UInt8]] = [:]
        var log: [String] = []
        var tokensIssued = 0
    }
    private let state = Mutex(State())

    public init() {}

    public func setOptions(_ change: (inout Options) -> Void) { state.withLock { change(&$0.options) } }

    /// Adds a blob; returns its digest.
    @discardableResult public func addBlob(_ bytes: [UInt8]) -> Digest {
        let d = Digest.sha256(of: bytes)
        state.withLock { $0.blobs[d] = bytes }
        return d
    }

    /// Adds an image manifest referencing `layers` under `repo:tag`; returns the manifest digest.
    @discardableResult public func addImage(repo: String, tag: String, layers: [Digest], mediaType: String = MediaType.dockerManifest)
        -> Digest
    {
        let configBytes = Array("{\"architecture\":\"amd64\",\"os\":\"linux\",\"tag\":\"\(tag)\"}".utf8)
        let config = addBlob(configBytes)
        let layerJSON = layers.map { d in
            let size = state.withLock { $0.blobs[d]?.count ?? 0 }
            return "{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":\(size),\"digest\":\"\(d)\"}"
        }.joined(separator: ",")
        let json =
            "{\"schemaVersion\":2,\"mediaType\":\"\(mediaType)\",\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":\(configBytes.count),\"digest\":\"\(config)\"},\"layers\":[\(layerJSON)]}"
        return putManifest(repo: repo, tag: tag, bytes: Array(json.utf8), mediaType: mediaType)
    }

    @discardableResult public func putManifest(repo: String, tag: String, bytes: [UInt8], mediaType: String) -> Digest {
        let d = Digest.sha256(of: bytes)
        state.withLock {
            $0.manifests["\(repo)@\(tag)"] = (mediaType, bytes)
            $0.manifests["\(repo)@\(d)"] = (mediaType, bytes)
        }
        return d
    }

    /// An artifact manifest (OCI image manifest with `subject` and `artifactType`) referring to
    /// `subject`, listed by the referrers API.
    @discardableResult public func addReferrer(repo: String, subject: Digest, artifactType: String) -> Digest {
        let subjectSize = state.withLock { $0.manifests["\(repo)@\(subject)"]?.bytes.count ?? 0 }
        let empty = addBlob(Array("{}".utf8))
        let json = """
            {"schemaVersion":2,"mediaType":"\(MediaType.ociManifest)","artifactType":"\(artifactType)",\
            "config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"\(empty)","size":2},"layers":[],\
            "subject":{"mediaType":"\(MediaType.ociManifest)","digest":"\(subject)","size":\(subjectSize)}}
            """
        let bytes = Array(json.utf8)
        let d = Digest.sha256(of: bytes)
        state.withLock {
            $0.manifests["\(repo)@\(d)"] = (MediaType.ociManifest, bytes)
            $0.referrers["\(repo)@\(subject)", default: []].append((d, bytes.count, artifactType))
        }
        return d
    }

    public func removeTag(repo: String, tag: String) { _ = state.withLock { $0.manifests.removeValue(forKey: "\(repo)@\(tag)") } }

    /// Request lines seen, as `METHOD /path`.
    public var log: [String] { state.withLock { $0.log } }
    public func count(_ prefix: String) -> Int { log.filter { $0.hasPrefix(prefix) }.count }
    public var tokensIssued: Int { state.withLock { $0.tokensIssued } }
    /// A blob's or manifest's bytes, as served.
    public func bytes(of digest: Digest) -> [UInt8]? {
        state.withLock { s in s.blobs[digest] ?? s.manifests.first { $0.key.hasSuffix("@\(digest)") }?.value.bytes }
    }

    public func clearLog() { state.withLock { $0.log.removeAll() } }

    /// The Hummingbird router of this fake; `realm` is the absolute URL of its `/token`.
    public func router(realm: @escaping @Sendable () -> String) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/token") { request, _ -> Response in
            let (redirect, epoch) = self.state.withLock { s -> (String?, Int) in
                s.log.append("GET /token?\(request.uri.query ?? "")")
                if s.options.tokenRedirect == nil { s.tokensIssued += 1 }
                return (s.options.tokenRedirect, s.options.tokenEpoch)
            }
            if let redirect { return Response(status: .temporaryRedirect, headers: [.location: redirect]) }
            return Self.json("{\"token\":\"tok-\(epoch)-\(UUID().uuidString)\",\"expires_in\":300}")
        }
        for method in [HTTPRequest.Method.get, .head] {
            router.on("/v2/**", method: method) { request, _ in try await self.handle(request, realm: realm()) }
            router.on("/v2", method: method) { request, _ in try await self.handle(request, realm: realm()) }
        }
        return router
    }

    static func json(_ s: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: s)))
    }

    func handle(_ request: Request, realm: String) async throws -> Response {
        let path = request.uri.path
        let options = state.withLock { s in
            s.log.append("\(request.method.rawValue) \(path)")
            return s.options
        }
        let auth = request.headers[.authorization] ?? ""
        if options.bearer, !auth.hasPrefix("Bearer tok-\(options.tokenEpoch)-") {
            var r = Self.json(#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#, status: .unauthorized)
            r.headers[.wwwAuthenticate] = "Bearer realm=\"\(realm)\",service=\"fake\""
            return r
        }
        if let (u, p) = options.basic {
            let expected = "Basic " + Data("\(u):\(p)".utf8).base64EncodedString()
            if auth != expected {
                var r = Self.json(#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#, status: .unauthorized)
                r.headers[.wwwAuthenticate] = "Basic realm=\"fake\""
                return r
            }
        }
        if path == "/v2/" || path == "/v2" { return Self.json("{}") }
        if let status = options.failStatus {
            return Self.json(#"{"errors":[{"code":"UNAVAILABLE","message":"down"}]}"#, status: .init(code: status))
        }
        guard let endpoint = try? RegistryPath.parse(path) else { return Self.json("{}", status: .notFound) }
        switch endpoint {
        case .manifest(let name, let ref):
            if options.redirectAll, let cdn = options.blobRedirect {
                return Response(status: .temporaryRedirect, headers: [.location: "\(cdn)/cdn/manifests/\(ref)"])
            }
            guard let m = state.withLock({ $0.manifests["\(name)@\(ref)"] }) else {
                return Self.json(#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#, status: .notFound)
            }
            let digest = Digest.sha256(of: m.bytes)
            let headers: HTTPFields = [
                .contentType: m.mediaType, .contentLength: String(m.bytes.count),
                HTTPField.Name("Docker-Content-Digest")!: digest.description,
            ]
            return Response(
                status: .ok, headers: headers,
                body: request.method == .head ? ResponseBody() : ResponseBody(byteBuffer: ByteBuffer(bytes: m.bytes)))
        case .blob(_, let digest):
            switch (request.method, options.lyingHead) {
            case (.head, .withoutLength):
                return Response(status: .ok, body: ResponseBody(contentLength: nil) { try await $0.finish(nil) })
            case (.head, .length(let n)):
                return Response(status: .ok, headers: [.contentLength: String(n)])
            default: break
            }
            if options.endless.contains(digest) {
                return Self.endlessBody(head: request.method == .head, delay: options.chunkDelay)
            }
            guard var bytes = state.withLock({ $0.blobs[digest] }) else {
                return Self.json(#"{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}"#, status: .notFound)
            }
            if request.method == .get, let cdn = options.blobRedirect {
                return Response(status: .temporaryRedirect, headers: [.location: "\(cdn)/cdn/\(digest)"])
            }
            if options.corrupt.contains(digest), let last = bytes.indices.last { bytes[last] ^= 0xff }
            let chunked = options.chunked.contains(digest)
            var headers: HTTPFields = [.contentType: "application/octet-stream"]
            if !chunked { headers[.contentLength] = String(bytes.count) }
            headers[HTTPField.Name("Docker-Content-Digest")!] = digest.description
            if request.method == .head { return Response(status: .ok, headers: headers) }
            let delay = options.chunkDelay
            let body = bytes
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody(contentLength: chunked ? nil : body.count) { writer in
                    var offset = 0
                    while offset < body.count {
                        let end = min(offset + 65536, body.count)
                        try await writer.write(ByteBuffer(bytes: body[offset..<end]))
                        offset = end
                        if delay > .zero { try await Task.sleep(for: delay) }
                    }
                    try await writer.finish(nil)
                })
        case .tags(let name):
            if options.redirectAll, let cdn = options.blobRedirect {
                return Response(status: .temporaryRedirect, headers: [.location: "\(cdn)/cdn/tags/\(name)"])
            }
            let tags = state.withLock { s in
                s.manifests.keys.filter { $0.hasPrefix("\(name)@") && !$0.contains(":") }.map { String($0.dropFirst(name.value.count + 1)) }
            }.sorted()
            let list = tags.map { "\"\($0)\"" }.joined(separator: ",")
            return Self.json("{\"name\":\"\(name)\",\"tags\":[\(list)]}")
        case .referrers(let name, let subject):
            guard let pageSize = options.referrersPageSize else { return Self.json("{}", status: .notFound) }
            let q = request.uri.queryParameters
            var list = state.withLock { $0.referrers["\(name)@\(subject)"] ?? [] }
            var headers: HTTPFields = [.contentType: MediaType.ociIndex]
            if let type = q["artifactType"].map(String.init) {
                list = list.filter { $0.artifactType == type }
                headers[HTTPField.Name("OCI-Filters-Applied")!] = "artifactType"
            }
            let start = q["page"].flatMap { Int(String($0)) } ?? 0
            let page = list.dropFirst(start).prefix(pageSize)
            if start + pageSize < list.count {
                var next = "http://elsewhere.example/v2/\(name)/referrers/\(subject)?page=\(start + pageSize)"
                if let type = q["artifactType"] {
                    next += "&artifactType=" + (String(type).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
                }
                headers[HTTPField.Name("Link")!] = "<\(next)>; rel=\"next\""
            }
            let entries = page.map {
                #"{"mediaType":"\#(MediaType.ociManifest)","digest":"\#($0.digest)","size":\#($0.size),"artifactType":"\#($0.artifactType)"}"#
            }
            let body = ByteBuffer(string: #"{"schemaVersion":2,"mediaType":"\#(MediaType.ociIndex)","manifests":[\#(entries.joined(separator: ","))]}"#)
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: body))
        default:
            return Self.json("{}", status: .notFound)
        }
    }

    /// 64 KiB chunks of zeros without end (at most 16 GiB), without a Content-Length.
    static func endlessBody(head: Bool, delay: Duration) -> Response {
        let headers: HTTPFields = [.contentType: "application/octet-stream"]
        if head { return Response(status: .ok, headers: headers) }
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                var chunk = ByteBuffer()
                chunk.writeRepeatingByte(0, count: 65536)
                for _ in 0..<(1 << 18) {
                    try await writer.write(chunk)
                    if delay > .zero { try await Task.sleep(for: delay) }
                }
                try await writer.finish(nil)
            })
    }

    /// A "CDN" router serving `/cdn/<digest>` from this registry's blobs, recording Authorization
    /// (or, with `cdnChallenge`, asking every request for credentials); and `/steal`, a token
    /// endpoint that no credentials should ever reach (logged as `STEAL`).
    public func cdnRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/steal") { request, _ -> Response in
            let auth = request.headers[.authorization] ?? "none"
            self.state.withLock { $0.log.append("STEAL \(request.uri.query ?? "") auth=\(auth)") }
            return Self.json("{\"token\":\"tok-stolen\",\"expires_in\":300}")
        }
        router.get("/cdn/**") { request, _ -> Response in
            let auth = request.headers[.authorization] ?? "none"
            let challenge = self.state.withLock { s in
                s.log.append("CDN GET \(request.uri.path) auth=\(auth)")
                return s.options.cdnChallenge
            }
            if let challenge { return Response(status: .unauthorized, headers: [.wwwAuthenticate: challenge]) }
            guard let d = try? Digest(parsing: String(request.uri.path.dropFirst("/cdn/".count))),
                let bytes = self.state.withLock({ $0.blobs[d] })
            else { return Response(status: .notFound) }
            return Response(status: .ok, headers: [.contentLength: String(bytes.count)], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        return router
    }
}

/// Runs `router` on 127.0.0.1 (or `host`) on a free port while `body` runs.
public func withLiveServer<T: Sendable>(
    _ router: Router<BasicRequestContext>, host: String = "127.0.0.1",
    _ body: @Sendable (Int) async throws -> T
) async throws -> T {
    let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
    let app = Application(
        router: router, configuration: .init(address: .hostname(host, port: 0)),
        onServerRunning: { channel in
            portContinuation.yield(channel.localAddress?.port ?? 0)
            portContinuation.finish()
        })
    return try await withThrowingTaskGroup(of: Void.self) { group in
        let serviceGroup = ServiceGroup(
            configuration: .init(services: [app], gracefulShutdownSignals: [], logger: app.logger))
        group.addTask { try await serviceGroup.run() }
        var port = 0
        for await p in portStream { port = p }
        do {
            let result = try await body(port)
            await serviceGroup.triggerGracefulShutdown()
            try await group.waitForAll()
            return result
        } catch {
            await serviceGroup.triggerGracefulShutdown()
            try? await group.waitForAll()
            throw error
        }
    }
}
