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

struct UpstreamRouterTests {
    let router = UpstreamRouter(
        upstreams: [u("docker.io"), u("ghcr.io"), u("quay.io")], aliases: ["ghcr.mirror.example": u("ghcr.io")],
        defaultUpstream: u("docker.io"))

    func route(_ name: String, ns: String? = nil, host: String? = nil) throws -> UpstreamRouter.Route {
        try router.route(name: try RepositoryName(parsing: name), namespace: ns, host: host)
    }

    @Test func modesInOrder() throws {
        #expect(try route("org/tool", ns: "ghcr.io", host: "docker.mirror") == .init(upstream: u("ghcr.io"), repository: try .init(parsing: "org/tool"), mode: .namespace))
        #expect(try route("org/tool", host: "ghcr.mirror.example:5000").upstream == u("ghcr.io"))
        #expect(try route("org/tool", host: "ghcr.mirror.example:5000").mode == .alias)
        #expect(try route("ghcr.io/org/tool") == .init(upstream: u("ghcr.io"), repository: try .init(parsing: "org/tool"), mode: .prefix))
        #expect(try route("org/tool") == .init(upstream: u("docker.io"), repository: try .init(parsing: "org/tool"), mode: .default))
    }

    @Test func dockerHubOfficialImagesGetLibrary() throws {
        #expect(try route("alpine").repository.value == "library/alpine")
        #expect(try route("docker.io/alpine").repository.value == "library/alpine")
        #expect(try route("alpine", ns: "docker.io").repository.value == "library/alpine")
        #expect(try route("alpine", ns: "index.docker.io").upstream == u("docker.io"))
        #expect(try route("ghcr.io/alpine").repository.value == "alpine")
    }

    @Test func unknownNamespaceIsRefused() {
        #expect(throws: RegistryError.self) { try route("x/y", ns: "evil.example") }
        // An unknown first component is just part of the name on the default upstream.
        #expect((try? route("evil.example/x"))?.upstream == u("docker.io"))
    }
}

/// A name the test knows is valid.
private func u(_ name: String) -> UpstreamName { UpstreamName(name)! }

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
