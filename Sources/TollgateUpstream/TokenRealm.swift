import Foundation
import NIOCore
import NIOHTTP1

/// The token server an upstream announced in its Bearer challenge, as pinned by `LearnedChallenge`.
struct TokenRealm: Sendable {
    /// The realm's URL.
    let realm: String
    let service: String?

    /// Asks the realm for a token for `scope` (distribution's token spec), with `credentials` as
    /// Basic and `account`, or anonymously. One exchange: a realm that redirects is not followed
    /// (the credentials were meant for this realm only, and a realm that moved must be announced
    /// by the upstream).
    func token(
        scope: String, credentials: UpstreamCredentials?, of identity: UpstreamIdentity, via transport: UpstreamTransport
    ) async throws -> (value: String, lifetime: Duration) {
        let upstream = transport.upstream
        guard var components = URLComponents(string: realm), let scheme = components.scheme,
            scheme == "https" || scheme == "http"
        else { throw UpstreamError(.protocolError, upstream: upstream, "token realm is not an http(s) URL") }
        var items = components.queryItems ?? []
        if let service { items.append(URLQueryItem(name: "service", value: service)) }
        for s in scope.split(separator: " ") { items.append(URLQueryItem(name: "scope", value: String(s))) }
        if let credentials { items.append(URLQueryItem(name: "account", value: credentials.username)) }
        components.queryItems = items
        guard let url = components.url?.absoluteString else {
            throw UpstreamError(.protocolError, upstream: upstream, "bad token realm")
        }
        let response = try await transport.exchange(
            .GET, url: url, headers: [], authorization: credentials?.basicAuthorization)
        guard response.status == 200 else {
            await response.discard()
            if (300..<400).contains(response.status) {
                throw UpstreamError(
                    .protocolError, upstream: upstream, "token server answered a redirect (\(response.status)); not followed")
            }
            if response.status == 401 || response.status == 403 {
                throw UpstreamError(.credentialsRejected, upstream: upstream, "its token server refused \(identity)")
            }
            throw UpstreamError(.protocolError, upstream: upstream, "token server answered \(response.status)")
        }
        let body = try await response.collect(upTo: 1 << 20)
        guard let token = TokenResponse.parse(Data(body.readableBytesView)) else {
            throw UpstreamError(.protocolError, upstream: upstream, "token server sent no usable token")
        }
        return token
    }
}
