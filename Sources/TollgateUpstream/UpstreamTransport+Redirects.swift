import Foundation
import NIOHTTP1

/// One registry request on its way along a redirect chain: where it goes next, and the
/// `Authorization` it carries, which is dropped for good once the chain leaves the upstream's origin.
struct UpstreamRequest: Sendable {
    let method: HTTPMethod
    /// The registry path first asked for, for messages.
    let path: String
    let headers: [(String, String)]
    /// Where a 200 body goes as it arrives (nil: the response's body is read by the caller).
    let sink: (any ResponseBodySink)?
    private(set) var url: String
    private(set) var authorization: String?
    private(set) var redirects = 0
    /// Still on the upstream's own origin: once a redirect leaves it, nothing the chain meets is the
    /// upstream's (credentials are dropped, challenges are neither answered nor learned).
    private(set) var atOrigin = true

    init(_ method: HTTPMethod, base: String, path: String, headers: [(String, String)], sink: (any ResponseBodySink)?) {
        self.method = method
        self.path = path
        self.headers = headers
        self.sink = sink
        url = base + path
    }

    /// Credentials for what follows; ignored once the chain has left the origin.
    mutating func authorize(_ authorization: String?) {
        if atOrigin { self.authorization = authorization }
    }

    /// Goes on to `next`; a URL off the upstream's `origin` ends its credentials for good.
    mutating func redirect(to next: URL, origin: Origin?) {
        redirects += 1
        if Origin(next) != origin {
            atOrigin = false
            authorization = nil
        }
        url = next.absoluteString
    }
}

extension UpstreamTransport {
    /// Sends `request`, following up to 5 redirects itself. Credentials stay with the upstream's
    /// origin: a CDN gets a signed URL and nothing else, and its 401 is an error (the upstream's
    /// credentials are not its to have). Returns the first response that is no redirect; a 401
    /// returned is the origin's own, for the caller to answer.
    func follow(_ request: inout UpstreamRequest) async throws -> UpstreamResponse {
        while true {
            let response = try await exchange(
                request.method, url: request.url, headers: request.headers, authorization: request.authorization,
                sink: request.sink)
            switch response.status {
            case 401 where !request.atOrigin:
                await response.discard()
                metrics.failed(.protocolError)
                throw UpstreamError(
                    .protocolError, upstream: upstream,
                    "redirect target \(Origin(request.url)?.description ?? "?") asked for credentials; they are never sent there")
            case 301, 302, 303, 307, 308:
                guard request.redirects < 5, let location = response.headers.first(name: "location"),
                    let next = URL(string: location, relativeTo: URL(string: request.url))?.absoluteURL,
                    let scheme = next.scheme, scheme == "https" || scheme == "http"
                else {
                    await response.discard()
                    throw UpstreamError(.protocolError, upstream: upstream, "bad redirect from \(request.path)")
                }
                await response.discard()
                request.redirect(to: next, origin: origin)
            default:
                return response
            }
        }
    }
}
