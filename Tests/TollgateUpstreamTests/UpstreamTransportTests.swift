import Foundation
import Hummingbird
import Logging
import Synchronization
import RegistryCore
import Testing
import TollgateTestSupport

@testable import TollgateUpstream

/// The transport alone: redirects followed with the origin rule (whatever `Authorization` a
/// request carries goes only to the upstream's own origin, and never again once a redirect left
/// it), a redirect target's 401 an error, the origin's 401 handed back to be answered.
struct UpstreamTransportTests {
    /// Request lines and the `Authorization` each carried, in order.
    final class Seen: Sendable {
        private let lines = Mutex<[String]>([])
        func note(_ request: Request, _ server: String) {
            let auth = request.headers[.authorization] ?? "none"
            lines.withLock { $0.append("\(server) \(request.uri.path) auth=\(auth)") }
        }
        var all: [String] { lines.withLock { $0 } }
    }

    static func redirect(_ to: String) -> Response { Response(status: .temporaryRedirect, headers: [.location: to]) }

    /// GET `path` on `router` notes the request in `seen` as `server`'s and answers `answer()`.
    static func route(
        _ router: Router<BasicRequestContext>, _ path: String, _ seen: Seen, _ server: String,
        _ answer: @escaping @Sendable () -> Response
    ) {
        router.get(RouterPath(path)) { request, _ -> Response in
            seen.note(request, server)
            return answer()
        }
    }

    /// The upstream (127.0.0.1): `/a` → `/b` (same origin) → the CDN's `/c` (127.0.0.2) → back to
    /// the upstream's `/d` → 200; `/401` answers 401; `/loop` redirects to itself. The CDN's
    /// `/c401` answers 401.
    func withChain(_ body: @Sendable (UpstreamTransport, _ base: String, _ cdn: String, Seen) async throws -> Void)
        async throws
    {
        let seen = Seen()
        let origin = PortBox()
        let cdnRouter = Router()
        Self.route(cdnRouter, "/c", seen, "cdn") { Self.redirect("http://127.0.0.1:\(origin.value)/d") }
        Self.route(cdnRouter, "/c401", seen, "cdn") {
            Response(status: .unauthorized, headers: [.wwwAuthenticate: #"Basic realm="cdn""#])
        }
        try await withLiveServer(cdnRouter, host: "127.0.0.2") { cdnPort in
            let cdn = "http://127.0.0.2:\(cdnPort)"
            let router = Router()
            Self.route(router, "/a", seen, "up") { Self.redirect("/b") }
            Self.route(router, "/b", seen, "up") { Self.redirect("\(cdn)/c") }
            Self.route(router, "/d", seen, "up") { Response(status: .ok) }
            Self.route(router, "/401", seen, "up") {
                Response(status: .unauthorized, headers: [.wwwAuthenticate: #"Basic realm="up""#])
            }
            Self.route(router, "/to-cdn-401", seen, "up") { Self.redirect("\(cdn)/c401") }
            Self.route(router, "/loop", seen, "up") { Self.redirect("/loop") }
            try await withLiveServer(router) { port in
                origin.value = port
                let base = "http://127.0.0.1:\(port)"
                let transport = UpstreamTransport(
                    configuration: UpstreamConfiguration(
                        name: UpstreamName("fake")!, url: base, connectTimeout: 2, firstByteTimeout: 5, idleTimeout: 2),
                    logger: Logger(label: "test"), metrics: UpstreamMetrics(upstream: "fake", factory: nil))
                try await closing(transport) { try await body($0, base, cdn, seen) }
            }
        }
    }

    @Test func credentialsStayAtTheOriginAndAreDroppedForGoodOnceTheChainLeavesIt() async throws {
        try await withChain { transport, base, _, seen in
            var request = UpstreamRequest(.GET, base: base, path: "/a", headers: [], sink: nil)
            request.authorize("Bearer secret")
            let response = try await transport.follow(&request)
            #expect(response.status == 200)
            await response.discard()
            #expect(
                seen.all == [
                    "up /a auth=Bearer secret", "up /b auth=Bearer secret",  // the same origin keeps them
                    "cdn /c auth=none",  // another origin never gets them
                    "up /d auth=none",  // nor does the origin again, after the chain left it
                ])
            #expect(request.redirects == 3 && !request.atOrigin && request.authorization == nil)
            request.authorize("Bearer again")  // too late: nothing to send once the origin is left
            #expect(request.authorization == nil)
        }
    }

    @Test func aRedirectTargetsChallengeIsAnErrorTheOriginsIsReturned() async throws {
        try await withChain { transport, base, _, seen in
            var away = UpstreamRequest(.GET, base: base, path: "/to-cdn-401", headers: [], sink: nil)
            away.authorize("Basic dTpw")
            await #expect {
                _ = try await transport.follow(&away)
            } throws: { error in
                (error as? UpstreamError)?.kind == .protocolError && "\(error)".contains("never sent there")
            }
            #expect(seen.all == ["up /to-cdn-401 auth=Basic dTpw", "cdn /c401 auth=none"])
            var own = UpstreamRequest(.GET, base: base, path: "/401", headers: [], sink: nil)
            let response = try await transport.follow(&own)
            #expect(response.status == 401 && own.atOrigin)
            await response.discard()
        }
    }

    @Test func atMostFiveRedirects() async throws {
        try await withChain { transport, base, _, _ in
            var request = UpstreamRequest(.GET, base: base, path: "/loop", headers: [], sink: nil)
            await #expect {
                _ = try await transport.follow(&request)
            } throws: { error in
                (error as? UpstreamError)?.kind == .protocolError && "\(error)".contains("bad redirect from /loop")
            }
            #expect(request.redirects == 5)
        }
    }
}
