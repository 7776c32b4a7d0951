import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import RegistryCore
import Synchronization

/// One upstream's HTTP exchanges: its own AsyncHTTPClient connection pool, timeouts (connect,
/// first byte, idle), one retry of connection failures (AsyncHTTPClient's own connect retrying is
/// off, so a dead upstream fails fast), 200 bodies streamed into a `ResponseBodySink`, failures
/// classified as `UpstreamError`s, metrics. Redirects are followed here too, never by
/// AsyncHTTPClient (`follow`, UpstreamTransport+Redirects.swift). Knows nothing of auth: it sends
/// the `Authorization` it is given, and only to the upstream's origin.
final class UpstreamTransport: Sendable {
    /// The upstream's configured name, for errors.
    let upstream: String
    /// Where the upstream's credentials may be sent (nil only for a URL that isn't http(s)).
    let origin: Origin?
    let metrics: UpstreamMetrics
    private let http: HTTPClient
    private let firstByteTimeout: TimeAmount
    private let logger: Logger

    /// Creates the connection pool; call `shutdown()` when done.
    init(configuration: UpstreamConfiguration, logger: Logger, metrics: UpstreamMetrics) {
        upstream = configuration.name.value
        origin = Origin(configuration.url)
        self.metrics = metrics
        self.logger = logger
        firstByteTimeout = .milliseconds(Int64(configuration.firstByteTimeout * 1000))
        var http = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(
                connect: .milliseconds(Int64(configuration.connectTimeout * 1000)),
                read: .milliseconds(Int64(configuration.idleTimeout * 1000))),
            decompression: .disabled)
        http.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
        // Fail fast when the upstream is down (we retry once ourselves): stale-if-error must not
        // wait out the whole connect timeout.
        http.connectionPool.retryConnectionEstablishment = false
        self.http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: http)
    }

    func shutdown() async throws {
        try await http.shutdown()
    }

    /// One HTTP exchange, retried once when the connection could not be made or broke before
    /// a response head (every request we send is idempotent).
    func exchange(
        _ method: HTTPMethod, url: String, headers: [(String, String)], authorization: String?,
        sink: (any ResponseBodySink)? = nil
    ) async throws -> UpstreamResponse {
        var fields = HTTPHeaders()
        fields.add(name: "User-Agent", value: "tollgate/0.1")
        for (k, v) in headers { fields.add(name: k, value: v) }
        if let authorization { fields.add(name: "Authorization", value: authorization) }
        var attempt = 0
        while true {
            attempt += 1
            do {
                let started = ContinuousClock.now
                let result: UpstreamResponse
                if let sink {
                    result = try await exchangeIntoSink(method, url: url, headers: fields, sink: sink)
                } else {
                    var request = HTTPClientRequest(url: url)
                    request.method = method
                    request.headers = fields
                    let response = try await http.execute(request, timeout: firstByteTimeout, logger: logger)
                    result = UpstreamResponse(
                        status: Int(response.status.code), headers: response.headers, body: .stream(response.body))
                }
                metrics.responded(status: result.status, since: started)
                return result
            } catch {
                let mapped = Self.classify(error, upstream: upstream)
                metrics.failed(mapped.kind)
                if attempt == 1, mapped.kind == .unreachable {
                    logger.debug("retrying after connection failure", metadata: ["error": "\(error)"])
                    continue
                }
                throw mapped
            }
        }
    }

    /// One exchange through the delegate API: the head is awaited (within the first-byte
    /// timeout), a 200 body flows into `sink` on the event loop.
    private func exchangeIntoSink(_ method: HTTPMethod, url: String, headers: HTTPHeaders, sink: any ResponseBodySink)
        async throws -> UpstreamResponse
    {
        let request = try HTTPClient.Request(url: url, method: method, headers: headers)
        let eventLoop = http.eventLoopGroup.next()
        let headPromise = eventLoop.makePromise(of: HTTPResponseHead.self)
        let task = http.execute(
            request: request, delegate: SinkDelegate(sink: sink, head: headPromise), eventLoop: .delegate(on: eventLoop),
            logger: logger)
        let timedOut = Atomic<Bool>(false)
        let firstByte = eventLoop.scheduleTask(in: firstByteTimeout) {
            timedOut.store(true, ordering: .relaxed)
            task.cancel()
        }
        do {
            let head = try await headPromise.futureResult.get()
            firstByte.cancel()
            return UpstreamResponse(status: Int(head.status.code), headers: head.headers, body: .delivered)
        } catch {
            firstByte.cancel()
            if timedOut.load(ordering: .relaxed) { throw HTTPClientError.deadlineExceeded }
            throw error
        }
    }

    static func classify(_ error: any Error, upstream: String) -> UpstreamError {
        if let e = error as? UpstreamError { return e }
        if let e = error as? HTTPClientError {
            switch e {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout:
                return UpstreamError(.timeout, upstream: upstream, "timed out (\(e))")
            default:
                return UpstreamError(.unreachable, upstream: upstream, "\(e)")
            }
        }
        return UpstreamError(.unreachable, upstream: upstream, "\(error)")
    }
}
