import Foundation
import NIOCore
import RegistryCore
import Testing
import TollgateTestSupport

@testable import TollgateProxy

/// Every way to a manifest is a pull: HEADs are answered without an upstream GET where they
/// can be, and the blob endpoint never hands out a manifest.
struct PullPathTests {
    let repo = try! RepositoryName(parsing: "org/app")
    let v1 = Reference.tag(try! Tag(parsing: "v1"))
    let single = AcceptList(headerValues: [MediaType.dockerManifest])

    @Test func headOfAnUncachedTagIsAnsweredByAnUpstreamHead() async throws {
        let fake = FakeRegistry()
        let layer = fake.addBlob(PullThroughCacheTests.bytes(1000))
        let manifest = fake.addImage(repo: "org/app", tag: "v1", layers: [layer])
        try await Harness.with(fake) { h in
            let answer = try #require(try await h.cache.manifestHead(from: h.upstream, repo, v1, accept: single))
            #expect(answer.digest == manifest)
            #expect(answer.outcome == .pass)
            #expect(answer.length > 0 && answer.bytes.readableBytes == 0)
            #expect(fake.count("GET /v2/org/app/manifests/") == 0)
            #expect(fake.count("HEAD /v2/org/app/manifests/v1") == 1)
            // by digest, too
            let byDigest = try #require(
                try await h.cache.manifestHead(from: h.upstream, repo, .digest(manifest), accept: single))
            #expect(byDigest.digest == manifest && byDigest.length == answer.length)
            #expect(fake.count("GET /v2/org/app/manifests/") == 0)
        }
    }

    @Test func theBlobEndpointNeverServesAManifest() async throws {
        let fake = FakeRegistry()
        let layer = fake.addBlob(PullThroughCacheTests.bytes(1000))
        let manifest = fake.addImage(repo: "org/app", tag: "v1", layers: [layer])
        try await Harness.with(fake) { h in
            // known from a HEAD only
            _ = try await h.cache.manifestHead(from: h.upstream, repo, v1, accept: single)
            await #expect(throws: RegistryError.self) { _ = try await h.cache.blob(from: h.upstream, repo, manifest, head: false) }
            // fetched and linked
            _ = try await h.cache.manifest(from: h.upstream, repo, v1, accept: single)
            for head in [false, true] {
                do {
                    _ = try await h.cache.blob(from: h.upstream, repo, manifest, head: head)
                    Issue.record("the manifest was served as a blob (head: \(head))")
                } catch let e as RegistryError {
                    #expect(e.code == .blobUnknown)
                }
            }
            #expect(fake.count("GET /v2/org/app/blobs/\(manifest)") == 0)
            // its layer is still a blob
            let blob = try await h.cache.blob(from: h.upstream, repo, layer, head: false)
            #expect(try await h.read(blob) == PullThroughCacheTests.bytes(1000))
        }
    }

    @Test func aListForASingleManifestClientNeedsAGet() async throws {
        let fake = FakeRegistry()
        let layer = fake.addBlob(PullThroughCacheTests.bytes(500))
        let child = fake.addImage(repo: "org/app", tag: "amd64", layers: [layer])
        let index = """
            {"schemaVersion":2,"mediaType":"\(MediaType.ociIndex)","manifests":[{"mediaType":"\(MediaType.dockerManifest)",\
            "digest":"\(child)","size":10,"platform":{"os":"linux","architecture":"amd64"}}]}
            """
        fake.putManifest(repo: "org/app", tag: "v1", bytes: Array(index.utf8), mediaType: MediaType.ociIndex)
        try await Harness.with(fake) { h in
            #expect(try await h.cache.manifestHead(from: h.upstream, repo, v1, accept: single) == nil)
            #expect(fake.count("GET /v2/org/app/manifests/") == 0)
            // after the GET (which the caller is charged for), the HEAD is answered from the cache
            let got = try await h.cache.manifest(from: h.upstream, repo, v1, accept: single)
            #expect(got.digest == child)
            fake.clearLog()
            let again = try #require(try await h.cache.manifestHead(from: h.upstream, repo, v1, accept: single))
            #expect(again.digest == child && again.outcome == .hit)
            #expect(fake.log.isEmpty)
        }
    }

    @Test func manifestTypesABrowserWouldRenderAreRefused() throws {
        let html = Data("<html xmlns=\"http://www.w3.org/1999/xhtml\"><script>alert(1)</script></html>".utf8)
        #expect(throws: RegistryError.self) {
            _ = try ManifestMediaType.detect(contentType: "application/xhtml+xml", body: html)
        }
        let artifact = Data("{\"schemaVersion\":2,\"custom\":true}".utf8)
        #expect(
            try ManifestMediaType.detect(contentType: "application/vnd.example.thing.v1+json", body: artifact)
                == "application/vnd.example.thing.v1+json")
    }

    @Test func manifestsAreToldFromOtherBlobsByTheirBytes() {
        let yes = [
            #"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{},"layers":[]}"#,
            #"  {"schemaVersion": 2, "manifests": [{"digest": "sha256:00"}]}"#,
            #"{"layers":[{"size":1}],"schemaVersion":2}"#,
            #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"}"#,
            #"{"schemaVersion":1,"name":"x","fsLayers":[{"blobSum":"sha256:00"}]}"#,
        ]
        for s in yes { #expect(ManifestSniff.isManifest(Array(s.utf8)), "\(s)") }
        let no = [
            #"{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#,
            #"{"critical":{"identity":{},"image":{"docker-manifest-digest":"sha256:00"}},"optional":null}"#,
            #"{"schemaVersion":2}"#, "[1,2]", "\u{1f}\u{8b}gzip", "", "{not json",
        ]
        for s in no { #expect(!ManifestSniff.isManifest(Array(s.utf8)), "\(s)") }
        #expect(!ManifestSniff.isManifest(Array(repeating: UInt8(ascii: " "), count: 5 << 20)))
    }

    @Test func aColdBlobThatIsAManifestIsRefusedWithoutAByteSent() async throws {
        let fake = FakeRegistry()
        // an upstream that serves manifests on its blob endpoint, as many registries do
        let manifest = Array(
            #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}"#.utf8)
        let config = Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"}}"#.utf8)
        let m = fake.addBlob(manifest)
        let c = fake.addBlob(config)
        fake.setOptions { $0.chunkDelay = .milliseconds(5) }
        try await Harness.with(fake) { h in
            do {
                let r = try await h.cache.blob(from: h.upstream, repo, m, head: false)
                let sent = try? await h.read(r)
                Issue.record("a manifest went out as a blob: \(sent?.count ?? -1) bytes")
            } catch let e as RegistryError {
                #expect(e.code == .blobUnknown)
            }
            await h.settle()
            #expect(h.storedBlobs.isEmpty)
            // known now: refused without asking upstream again
            fake.clearLog()
            await #expect(throws: RegistryError.self) { _ = try await h.cache.blob(from: h.upstream, repo, m, head: false) }
            #expect(fake.log.isEmpty)
            // a JSON blob that is not a manifest is served
            let r = try await h.cache.blob(from: h.upstream, repo, c, head: false)
            #expect(try await h.read(r) == config)
        }
    }
}
