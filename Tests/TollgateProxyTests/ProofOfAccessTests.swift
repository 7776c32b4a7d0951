import Foundation
import Logging
import RegistryCore
import Testing
import TollgateTestSupport
import TollgateUpstream

@testable import TollgateProxy

/// A link proves access to (upstream, repository, digest): bytes on disk are served for another
/// repository only after the upstream they came from confirmed exactly them; any other upstream,
/// or a confirmation without the right length, must deliver the bytes itself.
struct ProofOfAccessTests {
    let repo = try! RepositoryName(parsing: "org/app")
    let other = try! RepositoryName(parsing: "any/liar")
    let all = AcceptList(headerValues: [])

    /// `Harness` on upstream A (`fake.io`), plus upstream B (`b.io`) served by `fakeB`.
    static func withTwoUpstreams(
        _ fakeA: FakeRegistry, _ fakeB: FakeRegistry, _ body: @Sendable (Harness, Upstream) async throws -> Void
    ) async throws {
        try await Harness.with(fakeA) { h in
            try await withLiveServer(fakeB.router(realm: { "" })) { portB in
                let clientB = RegistryClient(
                    configuration: UpstreamConfiguration(name: UpstreamName("b.io")!, url: "http://127.0.0.1:\(portB)", idleTimeout: 5),
                    logger: Logger(label: "test"))
                let b = Upstream(client: clientB, manifestTTL: .seconds(60))
                do {
                    try await body(h, b)
                } catch {
                    try? await clientB.shutdown()
                    throw error
                }
                try await clientB.shutdown()
            }
        }
    }

    /// Pulls `digest` of `repo` through `upstream` (a cold fill) and waits until it is stored.
    func pull(_ h: Harness, _ upstream: Upstream, _ digest: Digest) async throws -> [UInt8] {
        let bytes = try await h.read(try await h.cache.blob(from: upstream, repo, digest, head: false))
        await h.settle()
        return bytes
    }

    @Test func anotherUpstreamSayingYesWithoutBytesUnlocksNothing() async throws {
        let a = FakeRegistry()
        let b = FakeRegistry()  // has nothing, says yes to every blob HEAD
        let layer = a.addBlob(PullThroughCacheTests.bytes(5000, seed: 3))
        let manifest = a.addImage(repo: "org/app", tag: "v1", layers: [layer])
        for lie in [FakeRegistry.LyingHead.withoutLength, .length(5000)] {
            b.setOptions { $0.lyingHead = lie }
            try await Self.withTwoUpstreams(a, b) { h, upstreamB in
                _ = try await h.cache.manifest(from: h.upstream, repo, .tag(try Tag(parsing: "v1")), accept: all)
                #expect(try await pull(h, h.upstream, layer).count == 5000)
                b.clearLog()
                await #expect(throws: RegistryError.blobUnknown(layer.description)) {
                    _ = try await h.cache.blob(from: upstreamB, other, layer, head: false)
                }
                // A manifest's digest is never a blob: refused before any upstream is asked.
                do {
                    _ = try await h.cache.blob(from: upstreamB, other, manifest, head: false)
                    Issue.record("a manifest was served from the blob endpoint")
                } catch let e as RegistryError {
                    #expect(e.code == .blobUnknown)
                }
                await #expect(throws: RegistryError.self) {
                    _ = try await h.cache.manifest(from: upstreamB, other, .digest(manifest), accept: all)
                }
                // B was asked for the layer's bytes (a GET), not merely whether it has them.
                #expect(b.count("GET /v2/any/liar/blobs/") == 1)
                #expect(b.count("HEAD /v2/any/liar/blobs/") == 0)
                #expect(try await h.cache.cachedRepositories(audiences: [Audience.shared]).map(\.upstream) == ["fake.io"])
                // A HEAD through B shows B's answer, no bytes and no link.
                let head = try await h.cache.blob(from: upstreamB, other, layer, head: true)
                if case .none = head.body {} else { Issue.record("HEAD through B returned a body") }
                #expect(head.outcome == .pass)
            }
        }
    }

    @Test func bytesFromAnotherUpstreamAreDeliveredByTheNamedOne() async throws {
        let a = FakeRegistry()
        let b = FakeRegistry()
        let content = PullThroughCacheTests.bytes(300_000, seed: 5)
        let d = a.addBlob(content)
        b.addBlob(content)
        try await Self.withTwoUpstreams(a, b) { h, upstreamB in
            #expect(try await pull(h, h.upstream, d) == content)
            let viaB = try await h.cache.blob(from: upstreamB, other, d, head: false)
            #expect(viaB.outcome == .miss)
            #expect(try await h.read(viaB) == content)
            await h.settle()
            #expect(b.count("GET /v2/any/liar/blobs/") == 1)
            // Now B has proven it has them: B's other repositories may use the HEAD path.
            b.clearLog()
            let third = try RepositoryName(parsing: "b/third")
            let r = try await h.cache.blob(from: upstreamB, third, d, head: false)
            #expect(r.outcome == .hit)
            #expect(b.count("HEAD /v2/b/third/blobs/") == 1)
            #expect(b.count("GET /v2/b/third/blobs/") == 0)
        }
    }

    @Test func sameUpstreamHeadWithoutOrWithWrongLengthIsAMiss() async throws {
        let a = FakeRegistry()
        let content = PullThroughCacheTests.bytes(4000, seed: 7)
        let d = a.addBlob(content)
        for (i, lie) in [FakeRegistry.LyingHead.withoutLength, .length(3999)].enumerated() {
            try await Harness.with(a) { h in
                a.setOptions { $0.lyingHead = nil }
                #expect(try await pull(h, h.upstream, d) == content)
                a.setOptions { $0.lyingHead = lie }
                a.clearLog()
                let second = try RepositoryName(parsing: "org/second\(i)")
                let r = try await h.cache.blob(from: h.upstream, second, d, head: false)
                #expect(r.outcome == .miss)
                #expect(try await h.read(r) == content)
                #expect(a.count("HEAD /v2/org/second\(i)/blobs/") == 1)
                #expect(a.count("GET /v2/org/second\(i)/blobs/") == 1)
            }
        }
    }
}
