import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import RegistryCore
import Testing
import TollgateTestSupport
import TollgateAuth
import TollgateLimits
import NIOCore
import Prometheus

@testable import TollgateServer
import TollgateStorage

struct ConfigurationTests {
    @Test func fullExampleParses() throws {
        let c = try TollgateConfiguration.parse(
            yaml: """
                listen: "127.0.0.1:5001"
                public_url: https://mirror.example
                storage: {path: /tmp/x, max_size: 50GiB}
                upstreams:
                  docker.io:
                    url: https://registry-1.docker.io
                    aliases: [docker.mirror.example]
                    manifest_ttl: 10m
                  ghcr.io: {url: "https://ghcr.io"}
                default_upstream: docker.io
                auth: {anonymous: false}
                log: {level: debug, format: json}
                """)
        #expect(c.listenHost == "127.0.0.1")
        #expect(c.listenPort == 5001)
        #expect(c.storage.maxSize == 50 << 30)
        #expect(c.upstreams["docker.io"]?.manifestTTL == .seconds(600))
        #expect(c.upstreams["docker.io"]?.aliases == ["docker.mirror.example"])
        #expect(c.upstreamOrder == ["docker.io", "ghcr.io"])
        #expect(c.publicURLWithoutSlash == "https://mirror.example")
    }

    @Test func maxBlobSizeHasASafeDefaultAndIsValidated() throws {
        #expect(try TollgateConfiguration.parse(yaml: "storage: {path: /tmp/x}").storage.maxBlobSize == 10 << 30)
        #expect(try TollgateConfiguration.parse(yaml: "storage: {max_blob_size: 2GiB}").storage.maxBlobSize == 2 << 30)
        for (value, needle) in [("lots", "storage.max_blob_size: not a size"), ("10KiB", "storage.max_blob_size: must be at least 1MiB")] {
            do {
                _ = try TollgateConfiguration.parse(yaml: "storage: {max_blob_size: \(value)}")
                Issue.record("accepted max_blob_size \(value)")
            } catch let e as ConfigurationError {
                #expect(e.problems.joined(separator: "\n").contains(needle))
            }
        }
    }

    @Test func problemsNameTheirKeyPath() {
        do {
            _ = try TollgateConfiguration.parse(
                yaml: """
                    listen: nonsense
                    storage: {path: /x, colour: blue}
                    upstreams:
                      ghcr.io: {url: "not a url", manifest_ttl: forever}
                      Bad_Key: {url: "https://x"}
                    default_upstream: quay.io
                    surprise: 1
                    """)
            Issue.record("accepted")
        } catch let e as ConfigurationError {
            let text = e.problems.joined(separator: "\n")
            for needle in [
                "listen:", "storage.colour: unknown key", "upstreams.ghcr.io.url: not a URL",
                "upstreams.ghcr.io.manifest_ttl: not a duration", "upstreams.Bad_Key:", "default_upstream:",
                "surprise: unknown key",
            ] {
                #expect(text.contains(needle), "missing \(needle) in \(text)")
            }
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func fixedSetsAreEnumsAndNestedSectionsNameTheirPath() throws {
        let c = try TollgateConfiguration.parse(yaml: "log: {level: debug, format: json}\nauth: {token: {algorithm: RS256}}")
        #expect(c.log.level == .debug && c.log.format == .json && c.auth.token.algorithm == .rs256)
        #expect(throws: ConfigurationError.self) { try TollgateConfiguration.parse(yaml: "tls: [a]") }
        do {
            _ = try TollgateConfiguration.parse(
                yaml: """
                    log: {level: verbose, format: xml, colour: red}
                    auth: {token: {algorithm: HS256, salt: x}, lockout: {failures: 0, mood: y}, default_policy: {maybe: []}}
                    limits: {enabled: perhaps, later: 1}
                    tls: {http2: true}
                    """)
            Issue.record("accepted")
        } catch let e as ConfigurationError {
            let text = e.problems.joined(separator: "\n")
            for needle in [
                "log.level: expected one of trace, debug, info, notice, warning, error, critical",
                "log.format: expected text or json", "log.colour: unknown key",
                "auth.token.algorithm: expected ES256 or RS256", "auth.token.salt: unknown key",
                "auth.lockout.failures: must be at least 1", "auth.lockout.mood: unknown key",
                "auth.default_policy.maybe: unknown key", "limits.enabled: expected true or false",
                "limits.later: unknown key", "tls.certificate: required", "tls.key: required",
            ] {
                #expect(text.contains(needle), "missing \(needle) in \(text)")
            }
        }
    }

    @Test func plansReplaceBuiltInsAndLeaveOutMeansUnlimited() throws {
        let c = try TollgateConfiguration.parse(
            yaml: """
                plans:
                  free: {requests_per_minute: 60, pulls_per_6h: 3, bytes_per_day: 1GiB, bytes_per_month: "10GiB", concurrent_transfers: 2}
                  anonymous: {}
                  open:
                default_plan: free
                metrics: {allow: ["10.0.0.0/8", "::1"]}
                """)
        #expect(c.defaultPlan == "free")
        #expect(c.plans["free"]?.limits[.bytesPerDay] == 1 << 30)
        #expect(c.plans["free"]?.limits[.pullsPer6h] == 3)
        #expect(c.plans["anonymous"]?.limits == PlanLimits())
        #expect(c.plans["open"]?.limits == PlanLimits())
        #expect(c.plans["default"]?.limits[.pullsPer6h] == 200)  // built in, not replaced
        #expect(c.metrics.allow == ["10.0.0.0/8", "::1"])
        do {
            _ = try TollgateConfiguration.parse(
                yaml: """
                    plans:
                      free: {pulls_per_6h: -1, bytes_per_day: lots, colour: red}
                      "bad name": {}
                    default_plan: nope
                    metrics: {allow: ["10.0.0.0/33"]}
                    """)
            Issue.record("accepted")
        } catch let e as ConfigurationError {
            let text = e.problems.joined(separator: "\n")
            for needle in [
                "plans.free.pulls_per_6h: expected a whole number", "plans.free.bytes_per_day: not a size",
                "plans.free.colour: unknown key", "plans.bad name:", "default_plan: \"nope\" is not a plan",
                "metrics.allow[0]: not an address",
            ] {
                #expect(text.contains(needle), "missing \(needle) in \(text)")
            }
        }
    }

    @Test func upstreamPasswordsStayOutOfTheConfiguration() throws {
        func problems(_ yaml: String) -> String {
            do {
                _ = try TollgateConfiguration.parse(yaml: yaml)
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(problems("upstreams: {docker.io: {url: https://x, username: u, password: p}}").contains("password_file"))
        #expect(problems("upstreams: {docker.io: {url: https://x, username: u, password_file: f, password_env: E}}").contains("give one"))
        #expect(problems("upstreams: {docker.io: {url: https://x, username: u}}").contains("go together"))
        #expect(problems("upstreams: {docker.io: {url: https://x, username: u, password_env: TG_PW}}").isEmpty)
        #expect(problems("auth: {hide_denied: true, default_policy: {deny: [\"docker.io/private/**\"]}}").isEmpty)
    }

    @Test func httpMetricsLabelEndpointsNotNames() {
        #expect(HTTPMetrics.endpoint("/v2/") == "base")
        #expect(HTTPMetrics.endpoint("/v2/library/alpine/manifests/3.19") == "manifest")
        #expect(HTTPMetrics.endpoint("/v2/a/b/c/blobs/sha256:\(String(repeating: "a", count: 64))") == "blob")
        #expect(HTTPMetrics.endpoint("/v2/x/tags/list") == "tags")
        #expect(HTTPMetrics.endpoint("/v2/x/referrers/sha256:ab") == "referrers")
        #expect(HTTPMetrics.endpoint("/v2/../etc") == "v2_other")
        #expect(HTTPMetrics.endpoint("/token") == "token")
        #expect(HTTPMetrics.endpoint("/anything/else") == "other")
        let m = HTTPMetrics(registry: PrometheusCollectorRegistry())
        m.record(endpoint: "blob", method: "GET", status: 200, duration: .milliseconds(3), bytes: 100, cache: "hit")
        m.record(endpoint: "blob", method: "GET", status: 200, duration: .milliseconds(30), bytes: 50, cache: "hit,aborted")
        let text = m.registry.emitToString()
        #expect(text.contains(#"tollgate_http_requests_total{endpoint="blob",method="GET",status="200"} 2"#))
        #expect(text.contains(#"tollgate_cache_requests_total{endpoint="blob",outcome="hit"} 2"#))
        #expect(text.contains(#"tollgate_http_response_bytes_total{endpoint="blob",cache="hit"} 150"#))
        #expect(text.contains(#"tollgate_http_request_duration_seconds_count{endpoint="blob"} 2"#))
    }

    @Test func forwardedForIsReadRightToLeftPastTrustedProxies() {
        let trusted = [AddressRange("127.0.0.1")!, AddressRange("10.0.0.0/8")!]
        let isTrusted = { (a: String) in trusted.contains { $0.contains(a) } }
        #expect(ForwardedFor.client(forwardedFor: ["203.0.113.9"], isTrusted: isTrusted) == "203.0.113.9")
        // A client-supplied entry on the left is not believed.
        #expect(ForwardedFor.client(forwardedFor: ["6.6.6.6, 203.0.113.9"], isTrusted: isTrusted) == "203.0.113.9")
        #expect(
            ForwardedFor.client(forwardedFor: ["203.0.113.9", "10.1.2.3"], isTrusted: isTrusted) == "203.0.113.9")
        #expect(ForwardedFor.client(forwardedFor: ["2001:db8::5"], isTrusted: isTrusted) == "2001:db8::5")
        #expect(ForwardedFor.client(forwardedFor: ["not-an-ip"], isTrusted: isTrusted) == nil)
        #expect(ForwardedFor.client(forwardedFor: [], isTrusted: isTrusted) == nil)
        #expect(ForwardedFor.client(forwardedFor: ["10.0.0.1"], isTrusted: isTrusted) == nil)
    }

    @Test func addressRanges() {
        #expect(AddressRange("127.0.0.0/8")?.contains("127.1.2.3") == true)
        #expect(AddressRange("127.0.0.0/8")?.contains("128.0.0.1") == false)
        #expect(AddressRange("127.0.0.0/8")?.contains("::ffff:127.0.0.1") == true)
        #expect(AddressRange("::1/128")?.contains("::1") == true)
        #expect(AddressRange("2001:db8::/32")?.contains("2001:db8:ff::1") == true)
        #expect(AddressRange("2001:db8::/32")?.contains("2001:db9::1") == false)
        #expect(AddressRange("10.0.0.1")?.contains("10.0.0.1") == true)
        #expect(AddressRange("10.0.0.0/33") == nil)
        #expect(AddressRange("nonsense") == nil)
    }

    @Test func usageDays() {
        let now: Int64 = 1_795_611_600  // 2026-11-25T13:00:00Z
        #expect(UsageReport.firstDay("1d", now: now)?.description == "2026-11-25")
        #expect(UsageReport.firstDay("7d", now: now)?.description == "2026-11-19")
        #expect(UsageReport.firstDay("2026-11-01", now: now)?.description == "2026-11-01")
        #expect(UsageReport.firstDay("soon", now: now) == nil)
    }

    @Test func embeddedDefaultHasTheWellKnownRegistries() {
        let c = TollgateConfiguration.embeddedDefault
        #expect(c.upstreams["docker.io"]?.url == "https://registry-1.docker.io")
        #expect(Set(c.upstreams.keys) == ["docker.io", "ghcr.io", "quay.io", "registry.k8s.io", "gcr.io"])
        #expect(c.listenPort == 5000)
    }

    @Test(arguments: [("30s", 30.0), ("5m", 300), ("6h", 21600), ("7d", 604_800), ("500ms", 0.5)])
    func durations(_ s: String, _ seconds: Double) {
        #expect(ConfigValues.duration(s) == .milliseconds(Int64(seconds * 1000)))
    }

    @Test(arguments: [("500MB", Int64(500_000_000)), ("20GiB", 20 << 30), ("1024", 1024), ("1.5KiB", 1536)])
    func sizes(_ s: String, _ bytes: Int64) {
        #expect(ConfigValues.size(s) == bytes)
    }

    @Test(arguments: ["", "5x", "-1s", "m"])
    func badDurations(_ s: String) { #expect(ConfigValues.duration(s) == nil) }
}

struct UpstreamRouterTests {
    let router = UpstreamRouter(
        upstreams: ["docker.io", "ghcr.io", "quay.io"], aliases: ["ghcr.mirror.example": "ghcr.io"],
        defaultUpstream: "docker.io")

    func route(_ name: String, ns: String? = nil, host: String? = nil) throws -> UpstreamRouter.Route {
        try router.route(name: try RepositoryName(parsing: name), namespace: ns, host: host)
    }

    @Test func modesInOrder() throws {
        #expect(try route("org/tool", ns: "ghcr.io", host: "docker.mirror") == .init(upstream: "ghcr.io", repository: try .init(parsing: "org/tool"), mode: .namespace))
        #expect(try route("org/tool", host: "ghcr.mirror.example:5000").upstream == "ghcr.io")
        #expect(try route("org/tool", host: "ghcr.mirror.example:5000").mode == .alias)
        #expect(try route("ghcr.io/org/tool") == .init(upstream: "ghcr.io", repository: try .init(parsing: "org/tool"), mode: .prefix))
        #expect(try route("org/tool") == .init(upstream: "docker.io", repository: try .init(parsing: "org/tool"), mode: .default))
    }

    @Test func dockerHubOfficialImagesGetLibrary() throws {
        #expect(try route("alpine").repository.value == "library/alpine")
        #expect(try route("docker.io/alpine").repository.value == "library/alpine")
        #expect(try route("alpine", ns: "docker.io").repository.value == "library/alpine")
        #expect(try route("alpine", ns: "index.docker.io").upstream == "docker.io")
        #expect(try route("ghcr.io/alpine").repository.value == "alpine")
    }

    @Test func unknownNamespaceIsRefused() {
        #expect(throws: RegistryError.self) { try route("x/y", ns: "evil.example") }
        // An unknown first component is just part of the name on the default upstream.
        #expect((try? route("evil.example/x"))?.upstream == "docker.io")
    }
}

struct HTTPTests {
    /// Runs `test` against the router of a server whose only upstream is unreachable.
    func withApp(
        anonymous: Bool = true, htpasswd: String = "", lockout: Int = 10,
        configure: (inout TollgateConfiguration) -> Void = { _ in },
        _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        var config = TollgateConfiguration()
        config.storage.path = NSTemporaryDirectory() + "tollgate-http-\(UUID().uuidString)"
        config.upstreams = ["docker.io": .init(url: "http://127.0.0.1:1")]
        config.upstreamOrder = ["docker.io"]
        config.log.access = false
        config.auth.anonymous = anonymous
        config.auth.anonymousWithoutToken = anonymous
        config.auth.lockoutFailures = lockout
        config.auth.htpasswd = config.storage.path + "/htpasswd"
        config.auth.token.service = "test-service"
        try FileManager.default.createDirectory(atPath: config.storage.path, withIntermediateDirectories: true)
        try htpasswd.write(toFile: config.auth.htpasswd, atomically: true, encoding: .utf8)
        config.auth.token.keyDirectory = config.storage.path + "/tokens"
        configure(&config)
        let parts = try await TollgateServer.makeParts(config, logger: Logger(label: "test"))
        let outcome: Result<Void, any Error>
        do {
            try await Application(router: parts.router).test(.router, test)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        for c in parts.clients { try await c.shutdown() }
        try? FileManager.default.removeItem(atPath: config.storage.path)
        try outcome.get()
    }

    @Test func healthAndReadiness() async throws {
        try await withApp { client in
            try await client.execute(uri: "/healthz", method: .get) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body) == "ready\n")
            }
        }
    }

    @Test func versionCheck() async throws {
        try await withApp { client in
            try await client.execute(uri: "/v2/", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[HTTPField.Name("Docker-Distribution-API-Version")!] == "registry/2.0")
                #expect(String(buffer: r.body) == "{}")
            }
        }
    }

    @Test(arguments: [
        ("/v2/../etc/passwd/manifests/x", HTTPRequest.Method.get, 400, "NAME_INVALID"),
        ("/v2/%2e%2e/x/manifests/latest", .get, 400, "NAME_INVALID"),
        ("/v2/UPPER/manifests/latest", .get, 400, "NAME_INVALID"),
        ("/v2/\(String(repeating: "a", count: 300))/manifests/latest", .get, 400, "NAME_INVALID"),
        ("/v2/library/alpine/blobs/sha256:xyz", .get, 400, "DIGEST_INVALID"),
        ("/v2/library/alpine/manifests/sha256:abc", .head, 404, "MANIFEST_UNKNOWN"),
        ("/v2/library/alpine/manifests/bad!tag", .get, 404, "MANIFEST_UNKNOWN"),
        ("/v2/library/alpine/manifests/sha256:bad", .put, 405, "UNSUPPORTED"),
        ("/v2/UPPER/blobs/sha256:bad", .delete, 405, "UNSUPPORTED"),
        ("/v2/library/alpine/blobs/uploads/", .post, 405, "UNSUPPORTED"),
        ("/v2/library/alpine/manifests/latest", .put, 405, "UNSUPPORTED"),
        ("/v2/library/alpine/manifests/latest", .delete, 405, "UNSUPPORTED"),
        ("/v2/library/alpine/blobs/uploads/x", .patch, 405, "UNSUPPORTED"),
        ("/v2/library/alpine/tags/list?n=-4", .get, 400, "PAGINATION_NUMBER_INVALID"),
        ("/v2/x/y/manifests/latest?ns=evil.example", .get, 404, "NAME_UNKNOWN"),
        ("/v2/library/alpine/manifests/latest", .get, 503, "UNAVAILABLE"),
    ])
    func badInputGetsJSONErrors(_ uri: String, _ method: HTTPRequest.Method, _ status: Int, _ code: String) async throws {
        try await withApp { client in
            try await client.execute(uri: uri, method: method) { r in
                #expect(r.status.code == status, "\(method) \(uri)")
                if method != .head {
                    let body = String(buffer: r.body)
                    #expect(body.contains("\"code\":\"\(code)\""), "\(uri): \(body)")
                }
            }
        }
    }
}

struct AuthHTTPTests {
    // alice:pw and bob:pw (cost 4), bob disabled.
    static let users = """
        alice:\(try! Bcrypt.hash("pw", cost: 4))
        bob:!\(try! Bcrypt.hash("pw", cost: 4))
        """

    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    @Test func challengesWithScope() async throws {
        try await HTTPTests().withApp(anonymous: false, htpasswd: Self.users) { client in
            try await client.execute(uri: "/v2/", method: .get) { r in
                #expect(r.status == .unauthorized)
                // No public_url: the realm is on the host the client asked for (the test client's "localhost").
                #expect(r.headers[.wwwAuthenticate] == #"Bearer realm="http://localhost/token",service="test-service""#)
            }
            try await client.execute(uri: "/v2/library/alpine/manifests/3.19", method: .head) { r in
                #expect(r.status == .unauthorized)
                #expect(r.headers[.wwwAuthenticate]?.hasSuffix(#"scope="repository:library/alpine:pull""#) == true)
            }
            // c/image's empty credentials are anonymous, not a failed login
            try await client.execute(uri: "/v2/", method: .get, headers: [.authorization: "Basic Og=="]) { r in
                #expect(r.status == .unauthorized)
            }
            try await client.execute(uri: "/v2/", method: .get, headers: [.authorization: Self.basic("alice", "pw")]) { r in
                #expect(r.status == .ok)
            }
            try await client.execute(uri: "/v2/", method: .get, headers: [.authorization: Self.basic("alice", "no")]) { r in
                #expect(r.status == .unauthorized)
            }
            try await client.execute(uri: "/v2/", method: .get, headers: [.authorization: Self.basic("bob", "pw")]) { r in
                #expect(r.status == .unauthorized)
            }
        }
    }

    @Test func tokenFlowAndScopeChecks() async throws {
        try await HTTPTests().withApp(anonymous: false, htpasswd: Self.users) { client in
            let token = try await client.execute(
                uri: "/token?service=test-service&scope=repository:library/alpine:pull&offline_token=true&client_id=t",
                method: .get, headers: [.authorization: Self.basic("alice", "pw")]
            ) { r -> [String: Any] in
                #expect(r.status == .ok)
                #expect(r.headers[.cacheControl] == "no-store")
                return try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any] ?? [:]
            }
            let access = try #require(token["token"] as? String)
            #expect(token["access_token"] as? String == access)
            let refresh = try #require(token["refresh_token"] as? String)
            #expect(refresh.hasPrefix("tgr_"))
            // the token passes /v2/ and its own repository, not another one
            try await client.execute(uri: "/v2/", method: .get, headers: [.authorization: "Bearer \(access)"]) { r in
                #expect(r.status == .ok)
            }
            try await client.execute(
                uri: "/v2/library/busybox/manifests/latest", method: .get, headers: [.authorization: "Bearer \(access)"]
            ) { r in
                #expect(r.status == .unauthorized)
                #expect(r.headers[.wwwAuthenticate]?.contains(#"error="insufficient_scope""#) == true)
            }
            try await client.execute(
                uri: "/v2/library/alpine/manifests/latest", method: .get, headers: [.authorization: "Bearer \(access)"]
            ) { r in
                #expect(r.status == .serviceUnavailable)  // authorized; the upstream is down
            }
            try await client.execute(uri: "/v2/", method: .get, headers: [.authorization: "Bearer x.y.z"]) { r in
                #expect(r.status == .unauthorized)
                #expect(r.headers[.wwwAuthenticate]?.contains(#"error="invalid_token""#) == true)
            }
            // OAuth2: refresh grant, password grant, wrong password
            let form = "grant_type=refresh_token&service=test-service&client_id=t&refresh_token=\(refresh)&scope=repository%3Alibrary%2Falpine%3Apull"
            try await client.execute(
                uri: "/token", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: form)
            ) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body).contains("\"scope\":\"repository:library/alpine:pull\""))
            }
            try await client.execute(
                uri: "/token", method: .post, body: ByteBuffer(string: "grant_type=password&username=alice&password=no&service=test-service")
            ) { r in
                #expect(r.status == .unauthorized)
            }
            try await client.execute(uri: "/token?service=test-service", method: .get) { r in
                #expect(r.status == .unauthorized)  // anonymous is off
            }
            try await client.execute(uri: "/token/jwks.json", method: .get) { r in
                #expect(String(buffer: r.body).contains("\"kty\":\"EC\""))
            }
        }
    }

    @Test func lockoutAfterFailures() async throws {
        try await HTTPTests().withApp(anonymous: false, htpasswd: Self.users, lockout: 3) { client in
            for _ in 0..<3 {
                try await client.execute(uri: "/v2/", method: .get, headers: [.authorization: Self.basic("alice", "no")]) { r in
                    #expect(r.status == .unauthorized)
                }
            }
            try await client.execute(uri: "/v2/", method: .get, headers: [.authorization: Self.basic("alice", "pw")]) { r in
                #expect(r.status == .tooManyRequests)
                #expect(r.headers[.retryAfter] != nil)
                #expect(String(buffer: r.body).contains("TOOMANYREQUESTS"))
            }
        }
    }

    static func json(_ r: TestResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any]) ?? [:]
    }

    /// `/token` counts against the caller's request rate, validates what it stores and refuses
    /// oversized bodies with 413.
    @Test func tokenEndpointIsLimitedAndValidated() async throws {
        try await HTTPTests().withApp(anonymous: false, htpasswd: Self.users) { config in
            config.plans["tiny"] = Plan(name: "tiny", limits: PlanLimits([.requestsPerMinute: 3]))
            config.defaultPlan = "tiny"
        } _: { client in
            let long = String(repeating: "A", count: 65)
            try await client.execute(
                uri: "/token?service=test-service&offline_token=true&client_id=\(long)", method: .get,
                headers: [.authorization: Self.basic("alice", "pw")]
            ) { r in
                #expect(r.status == .badRequest)
                #expect(Self.json(r)["error"] as? String == "invalid_request")
            }
            try await client.execute(
                uri: "/token", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(repeating: UInt8(ascii: "a"), count: 2 << 20)
            ) { r in
                #expect(r.status == .contentTooLarge)
            }
            var codes: [HTTPResponse.Status] = []
            for _ in 0..<5 {
                codes.append(
                    try await client.execute(
                        uri: "/token?service=test-service", method: .get, headers: [.authorization: Self.basic("alice", "pw")]
                    ) { r in
                        if r.status == .tooManyRequests { #expect(r.headers[.retryAfter] != nil) }
                        return r.status
                    })
            }
            #expect(codes.filter { $0 == .ok }.count == 3)
            #expect(codes.last == .tooManyRequests)
        }
    }

    /// A refresh token obtained with a personal token ends with it.
    @Test func refreshTokenFromAPersonalTokenEndsWithIt() async throws {
        let dir = NSTemporaryDirectory() + "tollgate-pat-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await HTTPTests().withApp(anonymous: false, htpasswd: Self.users) { config in
            config.storage.path = dir
            config.auth.htpasswd = dir + "/htpasswd"
            config.auth.token.keyDirectory = dir + "/tokens"
            try? Self.users.write(toFile: dir + "/htpasswd", atomically: true, encoding: .utf8)
        } _: { client in
            let store = try SQLiteMetadataStore(path: dir + "/tollgate.sqlite")
            let expires = Date().addingTimeInterval(3600)
            let (pat, secret) = try await SecretTokens(store: store).create(
                user: "alice", kind: .personal, label: "ci", expires: expires)
            let refresh = try await client.execute(
                uri: "/token?service=test-service&offline_token=true&client_id=ci", method: .get,
                headers: [.authorization: Self.basic("alice", secret)]
            ) { r in
                #expect(r.status == .ok)
                return Self.json(r)["refresh_token"] as? String ?? ""
            }
            let logins = try await store.credentials(user: "alice", kind: .refresh)
            #expect(logins.count == 1)
            #expect(logins.first?.origin == pat.id)
            #expect(logins.first?.client == "ci")
            #expect((logins.first?.expires ?? .distantFuture) <= expires.addingTimeInterval(0.001))  // stored as a Double
            let grant = "grant_type=refresh_token&service=test-service&refresh_token=\(refresh)"
            try await client.execute(uri: "/token", method: .post, body: ByteBuffer(string: grant)) { r in
                #expect(r.status == .ok)
            }
            #expect(try await store.deleteCredential(id: pat.id))
            try await client.execute(uri: "/token", method: .post, body: ByteBuffer(string: grant)) { r in
                #expect(r.status == .unauthorized)
            }
        }
    }
}
