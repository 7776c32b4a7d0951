import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RegistryCore

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
        } catch is any StoreUnreachable {
            return Self.response(.degraded, head: request.method == .head)
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
