import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RegistryCore
import Synchronization

extension HTTPField.Name {
    static let distributionAPIVersion = Self("Docker-Distribution-API-Version")!
    static let dockerContentDigest = Self("Docker-Content-Digest")!
    static let xCache = Self("X-Cache")!
    static let warning = Self("Warning")!
    static let link = Self("Link")!
    static let ociFiltersApplied = Self("OCI-Filters-Applied")!
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
}

/// Turns every error into the registry's JSON error response, in one place.
struct RegistryErrorMiddleware: RouterMiddleware {
    typealias Context = TollgateContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as RegistryError {
            return Self.response(error, head: request.method == .head)
        } catch let error as HTTPError {
            // Router-level answers (no route matched, method not allowed).
            let code: RegistryError.Code =
                switch error.status.code {
                case 404: .nameUnknown
                case 405: .unsupported
                default: .unknown
                }
            var r = Self.response(RegistryError(code, error.body ?? error.status.reasonPhrase), head: request.method == .head)
            r.status = error.status
            return r
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)"])
            return Self.response(RegistryError(.unknown, "internal error"), head: request.method == .head)
        }
    }

    static func response(_ error: RegistryError, head: Bool) -> Response {
        let body = ByteBuffer(string: error.jsonBody)
        var headers: HTTPFields = [
            .contentType: "application/json; charset=utf-8",
            .contentLength: String(body.readableBytes),
            .distributionAPIVersion: "registry/2.0",
        ]
        if let retry = error.retryAfter { headers[.retryAfter] = String(retry) }
        for (name, value) in error.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return Response(
            status: HTTPResponse.Status(code: error.httpStatus), headers: headers,
            body: head ? ResponseBody() : ResponseBody(byteBuffer: body))
    }
}

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
                    upstream: notes.upstream, cache: outcome, user: notes.user, id: id))
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
