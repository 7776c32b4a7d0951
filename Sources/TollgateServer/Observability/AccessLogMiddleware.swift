import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RegistryCore
import Synchronization

/// One line per request: method, path, status, bytes, duration, upstream, cache outcome.
/// Streamed bodies are counted as they are written; their line is logged when the body ends.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = TollgateContext
    let log: AccessLog?
    let metrics: HTTPMetrics?
    /// Counts streamed bodies in progress (for the shutdown drain).
    var drain: TransferDrain? = nil

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let start = ContinuousClock.now
        var response = try await next(request, context)
        response.headers[.distributionAPIVersion] = "registry/2.0"
        // Content types can come from upstreams: browsers must not guess a more active one.
        response.headers[.xContentTypeOptions] = "nosniff"
        guard log != nil || metrics != nil || drain != nil else { return response }
        let drain = self.drain
        let log = self.log, metrics = self.metrics
        let method = request.method.rawValue
        let path = request.uri.path
        let target = request.uri.description
        let status = Int(response.status.code)
        let notes = context.notes
        let id = context.logger[metadataKey: "hb.request.id"].map { "\($0)" } ?? "-"
        @Sendable func record(bytes: Int64, outcome: String) {
            let duration = ContinuousClock.now - start
            log?.record(
                .init(
                    method: method, target: target, status: status, bytes: bytes, duration: duration,
                    upstream: notes.upstream, cache: outcome, user: notes.user, id: id, forwardedBy: notes.forwardedBy, forwardedTo: notes.forwardedTo))
            metrics?.record(
                endpoint: HTTPMetrics.endpoint(path), method: method, status: status, duration: duration, bytes: bytes,
                cache: outcome)
        }
        if request.method == .head {
            record(bytes: 0, outcome: notes.cache)
            return response
        }
        if let length = response.body.contentLength, !notes.isStreaming {
            record(bytes: Int64(length), outcome: notes.cache)
            return response
        }
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            drain?.begin()
            defer { drain?.end() }
            let counter = ByteCounter()
            do {
                try await body.write(
                    writer.map { buffer in
                        counter.add(buffer.readableBytes)
                        return buffer
                    })
                record(bytes: counter.total, outcome: notes.cache)
            } catch {
                record(bytes: counter.total, outcome: notes.cache + ",aborted")
                throw error
            }
        }
        return response
    }
}

final class ByteCounter: Sendable {
    private let value = Atomic<Int64>(0)
    func add(_ n: Int) { value.add(Int64(n), ordering: .relaxed) }
    var total: Int64 { value.load(ordering: .relaxed) }
}
