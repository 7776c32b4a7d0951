import AsyncHTTPClient
import CoreMetrics
import Foundation
import Synchronization
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import RegistryCore
import TollgateAuth
import TollgateCluster
import TollgateLimits
import TollgateUpstream

/// Cluster mode's request forwarding: which node owns a piece of content (rendezvous hashing over
/// the live nodes), and passing a request this node can't answer from its own cache to that owner,
/// signed, streaming the answer back. An owner that can't be reached (connection refused, or no
/// connection within `connectTimeout`) is skipped: the caller's node serves the request itself.
final class ClusterForwarding: Sendable {
    let membership: Membership
    let signer: ForwardSigner
    let client: HTTPClient
    /// Plain-HTTP owners' relayed bodies go through these (`https://` ones through `client`).
    let connections: OwnerConnections
    let logger: Logger
    let forwarded: Counter
    let skipped: Counter
    /// How long a forwarded request may wait for the owner's answer to start (the owner may be
    /// fetching the content upstream first).
    let answerTimeout: TimeAmount

    init(
        membership: Membership, secret: String, logger: Logger, metrics: any MetricsFactory,
        connectTimeout: TimeAmount = .seconds(1), answerTimeout: TimeAmount = .seconds(40)
    ) {
        self.membership = membership
        self.signer = ForwardSigner(secret: secret)
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: connectTimeout, read: .seconds(60)),
            decompression: .disabled)
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        // A refused connection is an answer: no retrying until the connect timeout runs out.
        configuration.connectionPool.retryConnectionEstablishment = false
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.connections = OwnerConnections(connectTimeout: connectTimeout, answerTimeout: answerTimeout)
        self.logger = logger
        self.forwarded = Counter(label: "tollgate_cluster_forwarded_total", factory: metrics)
        self.skipped = Counter(label: "tollgate_cluster_owner_skips_total", factory: metrics)
        self.answerTimeout = answerTimeout
    }

    /// Owners that failed to answer lately, until when they are passed over: a node that died is
    /// skipped at once for the seconds until its heartbeat expires, not tried by every request.
    private let suspects = Mutex<[String: ContinuousClock.Instant]>([:])
    static let suspicion: Duration = .seconds(5)

    /// The node that owns `key`, when it is another one that isn't suspected dead.
    func otherOwner(of key: String) -> NodeRecord? {
        let nodes = membership.liveNodes
        guard nodes.count > 1, let owner = Rendezvous.owner(of: key, among: nodes), owner.name != membership.me.name
        else { return nil }
        let now = ContinuousClock.now
        if let until = suspects.withLock({ $0[owner.name] }), now < until {
            skipped.increment()
            return nil
        }
        return owner
    }

    /// Writes the rest of a blob from `offset` (this node's cache or its upstream) when the owner's
    /// transfer breaks off.
    typealias Resume = @Sendable (_ offset: Int64, _ write: (ByteBuffer) async throws -> Void) async throws -> Void

    /// Asks `owner` for `target` (path and query) on the caller's behalf; nil when the owner
    /// can't answer (then this node serves the request). With `collectUpTo` the answer is read
    /// whole (a manifest); else a GET's body is relayed as it comes (`relay`), and a whole body
    /// (200 with a length) that breaks off because the owner went away is finished by `resume`:
    /// a dying owner doesn't fail a pull that was under way.
    func forward(
        _ request: Request, target: String, to owner: NodeRecord, identity: Identity, client address: String?,
        on eventLoop: (any EventLoop)? = nil, head: Bool, collectUpTo limit: Int? = nil, resume: Resume? = nil
    ) async -> (response: Response, body: ByteBuffer?)? {
        let who = ForwardedCaller(node: membership.me.name, user: identity.user?.value, client: address)
        var outgoing = signedRequest(owner.url + target, target: target, method: head ? .HEAD : .GET, for: who)
        for name in [HTTPField.Name.accept, .range, .ifNoneMatch] {
            for value in request.headers[values: name] { outgoing.headers.add(name: name.rawName, value: value) }
        }
        if !head, limit == nil {
            return await relay(outgoing, target: target, to: owner, on: eventLoop, resume: resume)
        }
        let answer: HTTPClientResponse
        do {
            answer = try await client.execute(outgoing, deadline: .now() + answerTimeout, logger: logger)
        } catch {
            skipped.increment()
            suspect(owner, error)
            return nil
        }
        if Self.ownerStopping(answer.status, answer.headers) {
            skipped.increment()
            return nil
        }
        forwarded.increment()
        let (status, headers) = Self.passedOn(answer.status, answer.headers)
        // A GET comes here only with a limit (a manifest): read whole, a 200's bytes are the
        // caller's to keep.
        guard !head, answer.status != .notModified, let limit else {
            return (Response(status: status, headers: headers), nil)
        }
        guard let bytes = try? await answer.body.collect(upTo: limit) else {
            skipped.increment()
            return nil
        }
        return (
            Response(status: status, headers: headers, body: ResponseBody(byteBuffer: bytes)),
            answer.status == .ok ? bytes : nil
        )
    }

    /// A 503 without `Retry-After`: the owner is stopping (or its database is gone), and this
    /// node can still serve.
    static func ownerStopping(_ status: HTTPResponseStatus, _ headers: HTTPHeaders) -> Bool {
        status == .serviceUnavailable && headers.first(name: "Retry-After") == nil
    }

    /// The status and the headers passed on to the client.
    static func passedOn(_ status: HTTPResponseStatus, _ fields: HTTPHeaders) -> (HTTPResponse.Status, HTTPFields) {
        var headers = HTTPFields()
        for (name, value) in fields {
            guard let field = HTTPField.Name(name), Self.passed.contains(field) else { continue }
            headers.append(HTTPField(name: field, value: value))
        }
        return (HTTPResponse.Status(code: Int(status.code), reasonPhrase: status.reasonPhrase), headers)
    }

    /// How far a relayed body is read from the owner ahead of the client.
    static var readAhead: Int { 4 << 20 }

    /// A GET whose answer is streamed to the client as it comes: the owner's body flows on the
    /// event loop of the client's connection into a `ChunkPipe` (read ahead up to `readAhead`, no
    /// thread hop per part), and the client is written whatever has arrived. A whole body that
    /// breaks off because the owner went away is finished by `resume`. A plain-HTTP owner is asked
    /// over `connections`, an `https://` one through AsyncHTTPClient.
    private func relay(
        _ outgoing: HTTPClientRequest, target: String, to owner: NodeRecord, on clientLoop: (any EventLoop)?,
        resume: Resume?
    ) async -> (response: Response, body: ByteBuffer?)? {
        let pipe = ChunkPipe(limit: Self.readAhead)
        let eventLoop = clientLoop ?? client.eventLoopGroup.next()
        let exchange: OwnerConnections.Exchange
        if let (address, prefix) = OwnerConnections.address(of: owner.url) {
            exchange = connections.get(address, target: prefix + target, headers: outgoing.headers, on: eventLoop, sink: pipe)
        } else if let started = startThroughClient(outgoing, on: eventLoop, sink: pipe) {
            exchange = started
        } else {
            skipped.increment()
            return nil
        }
        let cancel = exchange.cancel
        let head: HTTPResponseHead
        do {
            head = try await exchange.head.get()
        } catch {
            pipe.close()
            skipped.increment()
            suspect(owner, error)
            return nil
        }
        if Self.ownerStopping(head.status, head.headers) {
            pipe.close()
            cancel()
            skipped.increment()
            return nil
        }
        forwarded.increment()
        let (status, headers) = Self.passedOn(head.status, head.headers)
        let length = head.headers.first(name: "Content-Length").flatMap { Int($0) }
        let whole = head.status == .ok && length != nil
        return (
            Response(
                status: status, headers: headers,
                body: ResponseBody(contentLength: length) { writer in
                    defer {
                        pipe.close()  // a client gone: the owner's connection stops at its next part
                        cancel()
                    }
                    var sent: Int64 = 0
                    while true {
                        let parts: [ByteBuffer]?
                        do {
                            parts = try await pipe.take()
                        } catch {
                            // The owner's side broke (its writes to this node failed, not this
                            // node's to the client): finish from here if we can.
                            guard let resume, whole, let length, sent < Int64(length) else { throw error }
                            self.suspect(owner, error)
                            self.logger.warning(
                                "owner's transfer broke off; finishing it here",
                                metadata: ["owner": "\(owner.name)", "sent": "\(sent)", "error": "\(error)"])
                            try await resume(sent) { try await writer.write($0) }
                            break
                        }
                        guard let parts else { break }
                        sent += parts.reduce(0) { $0 + Int64($1.readableBytes) }
                        try await writer.write(contentsOf: parts)
                    }
                    try await writer.finish(nil)
                }), nil
        )
    }

    /// `outgoing` through AsyncHTTPClient, its body into `sink`; nil when it can't be sent.
    private func startThroughClient(_ outgoing: HTTPClientRequest, on eventLoop: any EventLoop, sink: any ResponseBodySink)
        -> OwnerConnections.Exchange?
    {
        let head = eventLoop.makePromise(of: HTTPResponseHead.self)
        guard let request = try? HTTPClient.Request(url: outgoing.url, method: outgoing.method, headers: outgoing.headers)
        else {
            head.fail(HTTPClientError.invalidURL)
            return nil
        }
        let task = client.execute(
            request: request, delegate: SinkDelegate(sink: sink, head: head, streams: { _ in true }),
            eventLoop: .delegate(on: eventLoop), logger: logger)
        // The owner may be fetching the content upstream first: its answer's head may take this long.
        let timedOut = eventLoop.scheduleTask(in: answerTimeout) { task.cancel() }
        head.futureResult.whenComplete { _ in timedOut.cancel() }
        return OwnerConnections.Exchange(head: head.futureResult, cancel: { task.cancel() })
    }

    /// Passes `owner` over for `suspicion` (logged once per spell).
    private func suspect(_ owner: NodeRecord, _ error: any Error) {
        let first = suspects.withLock { s -> Bool in
            defer { s[owner.name] = ContinuousClock.now + Self.suspicion }
            return s[owner.name].map { ContinuousClock.now >= $0 } ?? true
        }
        if first {
            logger.warning(
                "owner did not answer; serving its requests here for 5 s", metadata: ["owner": "\(owner.name)", "error": "\(error)"])
        }
    }

    /// The repositories the other live nodes hold for the caller (their `/v2/_catalog`, asked
    /// signed and at once); a node that doesn't answer within 5 s is left out.
    func catalogs(identity: Identity, client address: String?) async -> [String] {
        let who = ForwardedCaller(node: membership.me.name, user: identity.user?.value, client: address)
        let listings: [Catalog?] = await askOthers("/v2/_catalog", as: who, within: .seconds(5), upTo: 16 << 20)
        skipped.increment(by: Int64(listings.filter { $0 == nil }.count))
        return listings.flatMap { $0?.repositories ?? [] }
    }

    /// What every other live node knows of `subject`'s counts (`/_cluster/limits`); nil when one
    /// doesn't answer within a second.
    func peerCounts(_ subject: Principal) async -> [KnownCounts]? {
        let target = "/_cluster/limits?subject=" + FormURLEncoding.encode(subject.description)
        let who = ForwardedCaller(node: membership.me.name, user: nil, client: nil)
        // Every node live lately, not just the last list: one left out might have charged last.
        let answers: [KnownCounts?] = await askOthers(
            target, as: who, within: .seconds(1), upTo: 1 << 20, nodes: membership.recentNodes())
        guard answers.allSatisfy({ $0 != nil }) else { return nil }
        return answers.compactMap { $0 }
    }

    /// A signed `GET target` to every other node of `nodes` (default: the live ones) at once, each
    /// JSON answer decoded (nil for a node that doesn't answer 200 with one within `timeout`).
    private func askOthers<Answer: Decodable & Sendable>(
        _ target: String, as who: ForwardedCaller, within timeout: TimeAmount, upTo limit: Int,
        nodes: [NodeRecord]? = nil
    ) async -> [Answer?] {
        let others = (nodes ?? membership.liveNodes).filter { $0.name != membership.me.name }
        return await withTaskGroup(of: Answer?.self) { group in
            for node in others {
                group.addTask {
                    let request = self.signedRequest(node.url + target, target: target, method: .GET, for: who)
                    guard let answer = try? await self.client.execute(request, deadline: .now() + timeout, logger: self.logger),
                        answer.status == .ok, let body = try? await answer.body.collect(upTo: limit)
                    else { return nil }
                    return try? JSONDecoder().decode(Answer.self, from: body)
                }
            }
            return await group.reduce(into: [Answer?]()) { $0.append($1) }
        }
    }

    /// A request to another node carrying this node's signature for `who`.
    private func signedRequest(_ url: String, target: String, method: HTTPMethod, for who: ForwardedCaller)
        -> HTTPClientRequest
    {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(
            name: ForwardSigner.headerName,
            value: signer.sign(method: method.rawValue, target: target, for: who, at: Int64(Date().timeIntervalSince1970)))
        return request
    }

    /// `GET /_cluster/limits?subject=…` from another node (signed): what this node knows of the
    /// subject's counts, for its slices while the database is unreachable.
    func limitsRoute(_ limiter: SharedLimiter) -> @Sendable (Request, TollgateContext) async throws -> Response {
        { request, _ in
            guard let value = request.headers[.tollgateForwarded],
                self.signer.verify(
                    value, method: "GET", target: request.uri.description, now: Int64(Date().timeIntervalSince1970)) != nil
            else { throw RegistryError(.unauthorized, "cluster request with an invalid signature") }
            guard let key = request.uri.queryParameters["subject"].map(String.init), let subject = Principal(storageKey: key)
            else { throw RegistryError(.parameterInvalid, "subject: expected u:<user> or ip:<group>") }
            let body = try JSONEncoder().encode(limiter.knownCounts(subject))
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        }
    }

    struct Catalog: Decodable, Sendable {
        var repositories: [String]
    }

    /// The owner's answer headers a client gets.
    static let passed: Set<HTTPField.Name> = [
        .contentType, .contentLength, .dockerContentDigest, .eTag, .xCache, .acceptRanges, .contentRange, .warning,
        .retryAfter, .wwwAuthenticate, .tollgatePullCharge,
    ]

    func shutdown() async {
        connections.shutdown()
        try? await client.shutdown()
    }
}
