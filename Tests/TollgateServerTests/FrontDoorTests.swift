import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import RegistryCore
import Testing

@testable import TollgateServer

/// The HTTP front: connection timeouts and caps, log escaping, pulls charged for HEADs.
struct FrontDoorTests {
    // MARK: - Timeouts

    static let timeouts = ConnectionTimeoutHandler.Timeouts(header: .seconds(10), idle: .seconds(60), body: .seconds(30))
    static let head = HTTPRequestPart.head(HTTPRequest(method: .get, scheme: nil, authority: "x", path: "/v2/"))

    func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        try channel.pipeline.syncOperations.addHandler(ConnectionTimeoutHandler(timeouts: Self.timeouts))
        return channel
    }

    @Test func aRequestHeadMustArriveWithinTheHeaderTimeout() throws {
        let c = try channel()
        c.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(c.isActive)
        c.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!c.isActive)
    }

    @Test func aStalledBodyIsCutAndAResponseInProgressIsNot() throws {
        let c = try channel()
        try c.writeInbound(Self.head)
        c.embeddedEventLoop.advanceTime(by: .seconds(20))
        try c.writeInbound(HTTPRequestPart.body(ByteBuffer(string: "a")))
        c.embeddedEventLoop.advanceTime(by: .seconds(20))
        #expect(c.isActive, "each body part re-arms the body timeout")
        try c.writeInbound(HTTPRequestPart.end(nil))
        // the response takes an hour to send: never cut
        try c.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        c.embeddedEventLoop.advanceTime(by: .seconds(3600))
        #expect(c.isActive)
        try c.writeOutbound(HTTPResponsePart.end(nil))
        c.embeddedEventLoop.advanceTime(by: .seconds(59))
        #expect(c.isActive)
        c.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!c.isActive, "idle keep-alive connection closed after the idle timeout")

        let d = try channel()
        try d.writeInbound(Self.head)
        d.embeddedEventLoop.advanceTime(by: .seconds(31))
        #expect(!d.isActive, "a body that sends nothing for the body timeout is cut")
    }

    // MARK: - Caps

    @Test func connectionsAreCappedInTotalAndPerClient() {
        let counter = ConnectionCounter(maxTotal: 5, maxPerClient: 3)
        for _ in 0..<3 { #expect(counter.open("10.0.0.1") == nil) }
        #expect(counter.open("10.0.0.1")?.contains("per client") == true)
        #expect(counter.open("10.0.0.2") == nil)
        #expect(counter.open("10.0.0.3") == nil)
        #expect(counter.open("10.0.0.4")?.contains("its maximum") == true)
        counter.close("10.0.0.1")
        #expect(counter.open("10.0.0.1") == nil)
        #expect(counter.open == 5)
        let uncapped = ConnectionCounter(maxTotal: 100, maxPerClient: 0)
        for _ in 0..<50 { #expect(uncapped.open("10.0.0.1") == nil) }
        #expect(ConnectionCounter.defaultTotal() >= 16)
    }

    @Test func serverSettingsAreReadAndChecked() throws {
        let c = try TollgateConfiguration.parse(
            yaml: "server: {header_timeout: 5s, idle_timeout: 2m, body_timeout: 20s, max_connections: 900, max_connections_per_client: 0}")
        #expect(c.server.headerTimeout == .seconds(5))
        #expect(c.server.idleTimeout == .seconds(120))
        #expect(c.server.bodyTimeout == .seconds(20))
        #expect(c.server.maxConnections == 900)
        #expect(c.server.maxConnectionsPerClient == 0)
        #expect(TollgateConfiguration().server.headerTimeout == .seconds(10))
        for (yaml, key) in [
            ("server: {header_timeout: 0s}", "server.header_timeout"), ("server: {idle_timeout: soon}", "server.idle_timeout"),
            ("server: {max_connections: 0}", "server.max_connections"),
            ("server: {max_connections_per_client: -1}", "server.max_connections_per_client"),
            ("server: {keepalive: 1}", "server.keepalive"),
        ] {
            do {
                _ = try TollgateConfiguration.parse(yaml: yaml)
                Issue.record("accepted \(yaml)")
            } catch let e as ConfigurationError {
                #expect(e.description.contains(key), "\(e.description)")
            }
        }
    }

    // MARK: - Logs

    @Test func clientTextIsEscapedInLogLines() {
        #expect(LogText.escape("alice") == "alice")
        #expect(LogText.escape("x\n2026-12-06 info forged") == "x\\n2026-12-06 info forged")
        #expect(LogText.escape("a\r\n\u{1b}[31mred\\") == "a\\r\\n\\x1b[31mred\\\\")
        #expect(LogText.escape("p q", spaces: true) == "p\\x20q")
        #expect(LogText.escape("line\u{2028}sep\u{85}") == "line\\u{2028}sep\\u{85}")
        #expect(LogText.escape("café") == "café")
        #expect(AccessLog.printable("/v2/a b\nc") == "/v2/a\\x20b\\nc")
    }

    // MARK: - Pulls

    @Test func aManifestHeadThatTakesAnUpstreamGetIsAPull() async throws {
        let plans = "plans: {default: {pulls_per_6h: 1}, anonymous: {}}"
        try await LimitHTTPTests().withServer(plans: plans) { client, up, _ in
            let index = """
                {"schemaVersion":2,"mediaType":"\(MediaType.ociIndex)","manifests":[{"mediaType":"\(MediaType.dockerManifest)",\
                "digest":"\(up.manifest)","size":10,"platform":{"os":"linux","architecture":"amd64"}}]}
                """
            up.fake.putManifest(repo: "library/app", tag: "multi", bytes: Array(index.utf8), mediaType: MediaType.ociIndex)
            var headers = LimitHTTPTests.alice
            headers[.accept] = MediaType.dockerManifest
            // answered by an upstream HEAD: no pull
            try await client.execute(uri: "/v2/library/app/manifests/v1", method: .head, headers: headers) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.rateLimitRemaining] == "1")
            }
            #expect(up.fake.count("GET /v2/library/app/manifests/") == 0)
            // a list for a single-manifest client takes a GET: charged
            try await client.execute(uri: "/v2/library/app/manifests/multi", method: .head, headers: headers) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.rateLimitRemaining] == "0")
            }
            // the manifest's digest on the blob endpoint
            try await client.execute(uri: "/v2/library/app/blobs/\(up.manifest)", method: .get, headers: headers) { r in
                #expect(r.status == .notFound)
                #expect(String(buffer: r.body).contains("BLOB_UNKNOWN"))
            }
            // out of pulls: a HEAD of an uncached list is refused, a cached one is answered
            up.fake.putManifest(repo: "library/app", tag: "multi2", bytes: Array((index + " ").utf8), mediaType: MediaType.ociIndex)
            try await client.execute(uri: "/v2/library/app/manifests/multi2", method: .head, headers: headers) { r in
                #expect(r.status == .tooManyRequests)
            }
            try await client.execute(uri: "/v2/library/app/manifests/multi", method: .head, headers: headers) { r in
                #expect(r.status == .ok)
            }
        }
    }
}
