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
import TollgateSQLite
import NIOCore
import Prometheus

@testable import TollgateServer

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
            let store = try SQLiteStore(path: dir + "/tollgate.sqlite")
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
            let logins = try await store.secretTokens(user: "alice", kind: .refresh)
            #expect(logins.count == 1)
            #expect(logins.first?.origin == pat.id)
            #expect(logins.first?.client == "ci")
            #expect((logins.first?.expires ?? .distantFuture) <= expires.addingTimeInterval(0.001))  // stored as a Double
            let grant = "grant_type=refresh_token&service=test-service&refresh_token=\(refresh)"
            try await client.execute(uri: "/token", method: .post, body: ByteBuffer(string: grant)) { r in
                #expect(r.status == .ok)
            }
            #expect(try await store.deleteSecretToken(id: pat.id))
            try await client.execute(uri: "/token", method: .post, body: ByteBuffer(string: grant)) { r in
                #expect(r.status == .unauthorized)
            }
        }
    }
}

/// The web console beside the registry: on at the root by default, off or under a prefix by
/// configuration, and never in the registry's way.
struct ConsoleMountTests {
    @Test func theConsoleAnswersAtTheRootBesideTheRegistry() async throws {
        try await HTTPTests().withApp(anonymous: false, htpasswd: AuthHTTPTests.users) { client in
            try await client.execute(uri: "/", method: .get) { r in
                #expect(r.status == .seeOther && r.headers[.location] == "/login")
            }
            try await client.execute(uri: "/login", method: .get) { r in
                #expect(r.status == .ok && r.headers[.contentType] == "text/html; charset=utf-8")
                #expect(r.headers[HTTPField.Name("Content-Security-Policy")!] == "default-src 'self'; frame-ancestors 'none'")
            }
            try await client.execute(uri: "/v2/", method: .get) { r in #expect(r.status == .unauthorized) }
        }
    }

    @Test func theConsoleCanBeOffOrUnderAPrefix() async throws {
        try await HTTPTests().withApp(anonymous: false, configure: { $0.web.enabled = false }) { client in
            try await client.execute(uri: "/login", method: .get) { r in #expect(r.status == .notFound) }
            try await client.execute(uri: "/", method: .get) { r in #expect(r.status == .notFound) }
        }
        try await HTTPTests().withApp(anonymous: false, configure: { $0.web.pathPrefix = "/console" }) { client in
            try await client.execute(uri: "/login", method: .get) { r in #expect(r.status == .notFound) }
            try await client.execute(uri: "/console/login", method: .get) { r in #expect(r.status == .ok) }
        }
    }
}
