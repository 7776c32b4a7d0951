import Foundation
import NIOCore
import RegistryCore
import Testing
import TollgateAdmin
import TollgateAuth
import TollgateInMemoryStores
import TollgateLimits
import TollgateProxy

/// Eviction orders over in-memory stores: the CLI's checks, and a cluster's two caches sharing one
/// eviction log, where one node holds a tag and another its layers.
struct EvictionTests {
    /// One node: its own cache (content index, blobs) and the cluster's shared log.
    struct Node {
        let local = InMemoryDatabase()
        let blobs = InMemoryBlobStore()
        let admin: Admin

        init(shared: InMemoryDatabase, clustered: Bool = true) {
            let stores = Stores(
                blobs: blobs, contentIndex: local, cacheIndex: local, users: InMemoryUserStore(), keys: InMemoryKeyStore(),
                secretTokens: shared, upstreamSecrets: shared, usageLedger: shared, limitWindows: local, userSettings: shared,
                userRemovals: shared, audit: shared, evictions: shared)
            admin = Admin(
                stores: stores,
                policy: AdminPolicy(
                    plans: Plan.builtIn, defaultPlan: "default", defaultAllow: ["**"], defaultDeny: [], upstreams: ["docker.io"],
                    maxCacheSize: nil, clustered: clustered))
        }

        var evictions: CacheEvictions { admin.evictions(admin.makeJanitor()) }

        /// Stores `bytes` as a blob linked from docker.io/org/app (a manifest record too when `manifest`).
        @discardableResult
        func put(_ bytes: [UInt8], manifest: Bool = false) async throws -> Digest {
            let digest = Digest.sha256(of: bytes)
            let writer = try await blobs.writer()
            try await writer.append(ByteBuffer(bytes: bytes))
            try await writer.commit(as: digest, durable: false)
            try await local.recordAccess([BlobAccess(digest: digest, size: Int64(bytes.count), lastAccess: 1)])
            try await local.putLink(LinkRecord(upstream: "docker.io", repository: "org/app", digest: digest, size: Int64(bytes.count)))
            if manifest {
                try await local.putManifest(ManifestRecord(digest: digest, mediaType: MediaType.ociManifest, size: Int64(bytes.count)))
            }
            return digest
        }

        func applied() async throws -> [EvictionResult] {
            var results: [EvictionResult] = []
            try await evictions.applyPending { _, outcome in if case .success(let r) = outcome { results.append(r) } }
            return results
        }
    }

    @Test func inAClusterTheNodeHoldingTheTagTellsTheOthersWhatItNamed() async throws {
        let shared = InMemoryDatabase()
        let (a, b) = (Node(shared: shared), Node(shared: shared))
        for node in [a, b] { _ = try await node.applied() }  // both start at the log's end
        let config = Array(#"{"os":"linux"}"#.utf8), layer = Array(repeating: UInt8(7), count: 5000)
        let (c, l) = (Digest.sha256(of: config), Digest.sha256(of: layer))
        let manifest = Array(
            #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"\#(c)","size":15},"layers":[{"digest":"\#(l)","size":5000}]}"#
                .utf8)
        // Node a holds the tag and its manifest; node b the config and the layer.
        let m = try await a.put(manifest, manifest: true)
        try await a.local.putTag(TagRecord(upstream: "docker.io", repository: "org/app", tag: "1", digest: m, fetchedAt: 1))
        try await b.put(config)
        try await b.put(layer)
        let order = try await b.admin.evictCache("docker.io/org/app:1")
        #expect(order.removed == EvictionResult())  // b has no record of the tag
        #expect(try await b.blobs.list().count == 2)
        // a applies it: the tag and the manifest go, and a logs what the tag named.
        #expect(try await a.applied() == [EvictionResult(tags: 1, blobs: 1, bytes: Int64(manifest.count))])
        let log = try await shared.evictions(after: order.order)
        #expect(log.count == 1 && log[0].scope == "docker.io/org/app:1" && Set(log[0].digests) == Set([m, c, l].map(\.description)))
        // b applies its own order (again: nothing) and a's: the config and the layer go.
        #expect(try await b.applied() == [EvictionResult(), EvictionResult(blobs: 2, bytes: Int64(config.count + layer.count))])
        #expect(try await b.blobs.list().isEmpty)
        #expect(try await a.blobs.list().isEmpty)
        #expect(try await !b.local.isLinked(l))
        #expect(try await a.applied() == [EvictionResult()])  // its own follow-up: nothing left
        #expect(try await shared.evictions(after: 0).count == 2)  // no third order
    }

    @Test func aSingleServerLogsNoFollowUpAndBadScopesAreRefused() async throws {
        let shared = InMemoryDatabase()
        let one = Node(shared: shared, clustered: false)
        let m = try await one.put(Array(#"{"schemaVersion":2,"layers":[]}"#.utf8), manifest: true)
        try await one.local.putTag(TagRecord(upstream: "docker.io", repository: "org/app", tag: "1", digest: m, fetchedAt: 1))
        let done = try await one.admin.evictCache("docker.io/org/app:1")
        #expect(done.removed == EvictionResult(tags: 1, blobs: 1, bytes: 31))
        #expect(try await shared.evictions(after: 0).count == 1)
        for (bad, message) in [
            ("docker.io/Org/app", "is not a repository name"), ("quay.io/a/b", "quay.io: no such upstream"),
            ("docker.io/a@sha256:00", "not by digest"), ("", "give UPSTREAM"),
        ] {
            await #expect {
                try await one.admin.evictCache(bad)
            } throws: { ($0 as? AdminError)?.description.contains(message) == true }
        }
        #expect(try await shared.evictions(after: 0).count == 1)
        #expect(try await shared.auditEntries(since: .distantPast, limit: 10).map(\.action) == ["cache.evict"])
    }
}
