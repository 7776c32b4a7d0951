import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import RegistryCore
import ServiceLifecycle
import Testing
import TollgateAuth
import TollgateLimits
import TollgateTestSupport

@testable import TollgateServer

/// Plans and limits through the HTTP stack, against a live fake upstream.
struct LimitHTTPTests {
    static let users = "alice:\(try! Bcrypt.hash("pw", cost: 4))\nbob:\(try! Bcrypt.hash("pw", cost: 4))\n"
    static let alice: HTTPFields = [.authorization: AuthHTTPTests.basic("alice", "pw")]
    static let bob: HTTPFields = [.authorization: AuthHTTPTests.basic("bob", "pw")]

    struct Upstream: Sendable {
        let fake = FakeRegistry()
        let manifest: Digest
        let big: Digest
        let small: Digest

        init() {
            big = fake.addBlob(Array(repeating: 7, count: 300_000))
            small = fake.addBlob(Array(repeating: 1, count: 1000))
            manifest = fake.addImage(repo: "library/app", tag: "v1", layers: [big, small])
        }
    }

    struct Handles: Sendable {
        let limiter: any Limiter
        let ledger: UsageLedger
        let usage: any UsageLedgerStore
    }

    /// A server with `plans` (YAML) in front of a live fake upstream, with its services running.
    func withServer(
        plans: String, withoutToken: Bool = true, _ test: @escaping @Sendable (any TestClientProtocol, Upstream, Handles) async throws -> Void
    ) async throws {
        let up = Upstream()
        try await withLiveServer(up.fake.router(realm: { "" })) { port in
            let dir = NSTemporaryDirectory() + "tollgate-limits-http-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Self.users.write(toFile: dir + "/htpasswd", atomically: true, encoding: .utf8)
            let config = try TollgateConfiguration.parse(
                yaml: """
                    storage: {path: "\(dir)"}
                    upstreams:
                      docker.io: {url: "http://127.0.0.1:\(port)"}
                    auth: {anonymous: true, anonymous_without_token: \(withoutToken), htpasswd: "\(dir)/htpasswd", token: {key_dir: "\(dir)/tokens"}}
                    log: {access: false}
                    \(plans)
                    """)
            let parts = try await TollgateServer.makeParts(config, logger: Logger(label: "test"))
            let handles = Handles(limiter: parts.limiter, ledger: parts.ledger, usage: parts.storage.stores.usageLedger)
            let services = ServiceGroup(
                configuration: .init(
                    services: [parts.limitsService, parts.cache], gracefulShutdownSignals: [], logger: Logger(label: "test")))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await services.run() }
                let outcome: Result<Void, any Error>
                do {
                    try await Application(router: parts.router).test(.router) { try await test($0, up, handles) }
                    outcome = .success(())
                } catch {
                    outcome = .failure(error)
                }
                await services.triggerGracefulShutdown()
                try await group.waitForAll()
                for c in parts.clients { try await c.shutdown() }
                try outcome.get()
            }
        }
    }

    static let accept: HTTPFields = [.accept: MediaType.dockerManifest]

    @Test func pullsAreManifestGETsByTagOrDigest() async throws {
        try await withServer(plans: "plans: {default: {pulls_per_6h: 3}}") { client, up, _ in
            func remaining(_ uri: String, _ method: HTTPRequest.Method) async throws -> (Int, String?) {
                try await client.execute(uri: uri, method: method, headers: Self.alice + Self.accept) { r in
                    #expect(r.headers[.rateLimitLimit] == "3;w=21600")
                    return (Int(r.status.code), r.headers[.rateLimitRemaining])
                }
            }
            let byTag = "/v2/library/app/manifests/v1", byDigest = "/v2/library/app/manifests/\(up.manifest)"
            #expect(try await remaining(byTag, .head) == (200, "3"))  // HEAD doesn't count
            #expect(try await remaining(byTag, .get) == (200, "2"))
            #expect(try await remaining(byDigest, .head) == (200, "2"))
            #expect(try await remaining(byDigest, .get) == (200, "1"))
            #expect(try await remaining("/v2/library/app/blobs/\(up.small)", .get) == (200, "1"))  // blobs don't
            #expect(try await remaining("/v2/library/app/manifests/nope", .get) == (404, "1"))  // not served: refunded
            #expect(try await remaining(byTag, .get) == (200, "0"))
            try await client.execute(uri: byDigest, method: .get, headers: Self.alice + Self.accept) { r in
                #expect(r.status == .tooManyRequests)
                #expect(r.headers[.retryAfter].flatMap(Int.init).map { $0 > 0 && $0 <= 21600 } == true)
                #expect(r.headers[.rateLimitRemaining] == "0")
                let body = String(buffer: r.body)
                #expect(body.contains("\"code\":\"TOOMANYREQUESTS\""))
                #expect(body.contains("pull rate limit reached: 3 pulls per 6 hours"))
            }
            // Another user is not affected.
            try await client.execute(uri: byDigest, method: .get, headers: Self.bob + Self.accept) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.rateLimitRemaining] == "2")
            }
        }
    }

    @Test func byteQuotaRefusesTheBlobThatWouldNotFit() async throws {
        try await withServer(plans: "plans: {default: {bytes_per_day: 300500}}") { client, up, parts in
            try await client.execute(uri: "/v2/library/app/blobs/\(up.big)", method: .get, headers: Self.alice) { r in
                #expect(r.status == .ok)
                #expect(r.body.readableBytes == 300_000)  // a streamed miss, sent whole
                #expect(r.headers[.rateLimitLimit] == nil)  // no pull limit in this plan
            }
            try await client.execute(uri: "/v2/library/app/blobs/\(up.small)", method: .get, headers: Self.alice) { r in
                #expect(r.status == .tooManyRequests)
                #expect(String(buffer: r.body).contains("daily transfer quota reached"))
            }
            // A range that fits is served; HEAD needs no quota.
            try await client.execute(
                uri: "/v2/library/app/blobs/\(up.small)", method: .get, headers: Self.alice + [.range: "bytes=0-99"]
            ) { r in
                #expect(r.status == .partialContent)
            }
            try await client.execute(uri: "/v2/library/app/blobs/\(up.small)", method: .head, headers: Self.alice) { r in
                #expect(r.status == .ok)
            }
            let status = await parts.limiter.status(.user(UserName("alice")!))
            #expect(status.bytesDay.used == 300_100)
            #expect(status.activeTransfers == 0)
            // The ledger has the same bytes, split by source (in memory, or flushed already).
            let stored = try await parts.usage.usage(since: "0000-01-01", user: "alice")
            let pending = UsageRecord.merge(stored + parts.ledger.pending(user: UserName("alice")))
                .first { $0.upstream == "docker.io" }
            #expect(pending?.bytesSent == 300_100)
            #expect(pending.map { $0.hitBytes + $0.upstreamBytes } == 300_100)
            #expect((pending?.upstreamBytes ?? 0) >= 300_000)
        }
    }

    @Test func aBlobWithoutLengthReservesItsBound() async throws {
        try await withServer(plans: "plans: {default: {bytes_per_day: 300500}}") { client, up, parts in
            up.fake.setOptions {
                $0.chunked = [up.big, up.small]
                $0.chunkDelay = .milliseconds(50)  // still running (size unknown) when the response starts
            }
            // No manifest declared its size: the reservation is storage.max_blob_size (10 GiB).
            try await client.execute(uri: "/v2/library/app/blobs/\(up.big)", method: .get, headers: Self.alice) { r in
                #expect(r.status == .tooManyRequests)
                #expect(String(buffer: r.body).contains("daily transfer quota reached"))
            }
            // Once the manifest pulled through, its declared size is the length and the reservation.
            try await client.execute(
                uri: "/v2/library/app/manifests/v1", method: .get, headers: Self.alice + Self.accept
            ) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/v2/library/app/blobs/\(up.small)", method: .get, headers: Self.alice) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentLength] == "1000")
                #expect(r.body.readableBytes == 1000)
            }
            let status = await parts.limiter.status(.user(UserName("alice")!))
            #expect(status.bytesDay.used == 1000)
            #expect(status.reservedBytes == 0)
            #expect(status.activeTransfers == 0)
        }
    }

    @Test func usageEndpointAndMetrics() async throws {
        try await withServer(plans: "plans: {default: {pulls_per_6h: 5, requests_per_minute: 100}, anonymous: {requests_per_minute: 3}}") {
            client, up, _ in
            _ = try await client.execute(uri: "/v2/library/app/manifests/v1", method: .get, headers: Self.alice + Self.accept)
            try await client.execute(uri: "/usage?since=7d", method: .get, headers: Self.alice) { r in
                #expect(r.status == .ok)
                let json = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any]
                #expect(json?["user"] as? String == "alice")
                #expect(json?["plan"] as? String == "default")
                let current = json?["current"] as? [String: Any]
                let pulls = current?["pulls_per_6h"] as? [String: Any]
                #expect(pulls?["used"] as? Int == 1)
                #expect(pulls?["remaining"] as? Int == 4)
                let usage = json?["usage"] as? [String: Any]
                #expect((usage?["total"] as? [String: Any])?["pulls"] as? Int == 1)
            }
            try await client.execute(uri: "/usage?since=soon", method: .get, headers: Self.alice) { r in
                #expect(r.status == .badRequest)
                #expect(String(buffer: r.body).contains("PARAMETER_INVALID"))
            }
            // Anonymous: the address group's windows, limited per address.
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<4 {
                statuses.append(try await client.execute(uri: "/v2/", method: .get) { $0.status })
            }
            #expect(statuses == [.ok, .ok, .ok, .tooManyRequests])
            try await client.execute(uri: "/metrics", method: .get) { r in
                // The test client has no socket address: not in `metrics.allow`.
                #expect(r.status == .forbidden)
            }
        }
    }

    @Test func anonymousClientsGetTheTokenChallengeSoUsersAreCountedAsThemselves() async throws {
        try await withServer(plans: "plans: {default: {pulls_per_6h: 2}, anonymous: {pulls_per_6h: 5}}", withoutToken: false) {
            client, up, handles in
            let uri = "/v2/library/app/manifests/v1"
            try await client.execute(uri: uri, method: .get, headers: Self.accept) { r in
                #expect(r.status == .unauthorized)
                #expect(r.headers[.wwwAuthenticate]?.hasPrefix("Bearer realm=") == true)
            }
            // No credentials: an anonymous token, then the pull counts for the anonymous plan.
            let anonymous = try await client.execute(uri: "/token?service=tollgate&scope=repository:library/app:pull", method: .get) {
                r in
                #expect(r.status == .ok)
                return (try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any])?["token"] as? String
            }
            try await client.execute(
                uri: uri, method: .get, headers: Self.accept + [.authorization: "Bearer \(anonymous ?? "")"]
            ) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.rateLimitLimit] == "5;w=21600")
            }
            // With credentials (sent after the challenge): counted for the user.
            try await client.execute(uri: uri, method: .get, headers: Self.alice + Self.accept) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.rateLimitLimit] == "2;w=21600")
                #expect(r.headers[.rateLimitRemaining] == "1")
            }
            #expect(await handles.limiter.status(.user(UserName("alice")!)).pulls.used == 1)
        }
    }

    @Test func disabledLimitsMeanNoHeadersAndNoUsageEndpoint() async throws {
        try await withServer(plans: "plans: {default: {pulls_per_6h: 0}}\nlimits: {enabled: false}") { client, up, _ in
            try await client.execute(uri: "/v2/library/app/manifests/v1", method: .get, headers: Self.alice + Self.accept) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.rateLimitLimit] == nil)
            }
            try await client.execute(uri: "/usage", method: .get, headers: Self.alice) { r in
                #expect(r.status == .notFound)
            }
        }
    }
}
