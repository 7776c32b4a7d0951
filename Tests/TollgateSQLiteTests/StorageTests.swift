import Foundation
import NIOCore
import RegistryCore
import Testing

import TollgateAdmin
import TollgateAuth
@testable import TollgateFileStorage
import TollgateLimits
import TollgateProxy
@testable import TollgateSQLite

struct StorageTests {
    func tempDir() -> String { NSTemporaryDirectory() + "tollgate-storage-\(UUID().uuidString)" }

    @Test func writeCommitOpen() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try FileBlobStore(root: dir)
        let bytes = Array("hello blob".utf8)
        let digest = Digest.sha256(of: bytes)
        #expect(try await store.reader(digest) == nil)
        let tmp = try await store.writer()
        try await tmp.append(ByteBuffer(bytes: bytes))
        try await tmp.commit(as: digest, durable: true)
        #expect(FileManager.default.fileExists(atPath: "\(dir)/blobs/sha256/\(digest.hex.prefix(2))/\(digest.hex)"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/tmp").isEmpty)
        let file = try #require(try await store.reader(digest))
        #expect(file.size == Int64(bytes.count))
        #expect(Array(try await file.read(at: 6, count: 4).readableBytesView) == Array("blob".utf8))
        #expect(try await store.size(of: digest) == Int64(bytes.count))
    }

    @Test func leftoverTemporaryFilesAreRemovedAtStart() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try FileBlobStore(root: dir)
        let tmp = try await store.writer()
        try await tmp.append(ByteBuffer(string: "partial"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/tmp").count == 1)
        _ = try FileBlobStore(root: dir)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/tmp").isEmpty)
    }

    @Test func metadataRoundTrips() async throws {
        let dir = tempDir()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = Digest.sha256(of: [1])
        do {
            let m = try SQLiteStore(path: dir + "/t.sqlite")
            try await m.putTag(TagRecord(upstream: "docker.io", repository: "library/a", tag: "1", digest: d, fetchedAt: 5))
            try await m.putTag(TagRecord(upstream: "docker.io", repository: "library/a", tag: "0", digest: d, fetchedAt: 6))
            try await m.putManifest(ManifestRecord(digest: d, mediaType: "x/y", size: 1))
            try await m.putLink(LinkRecord(upstream: "docker.io", repository: "library/a", digest: d, size: 1))
            try await m.putLink(LinkRecord(upstream: "ghcr.io", repository: "library/a", digest: d, size: 1))
        }
        // Durable across a reopen.
        let m = try SQLiteStore(path: dir + "/t.sqlite")
        let shared = Audience.shared
        #expect(try await m.tag(upstream: "docker.io", repository: "library/a", tag: "1", audience: shared)?.fetchedAt == 5)
        #expect(try await m.tag(upstream: "ghcr.io", repository: "library/a", tag: "1", audience: shared) == nil)
        #expect(try await m.tags(upstream: "docker.io", repository: "library/a", audiences: [shared]) == ["0", "1"])
        #expect(try await m.manifest(d)?.mediaType == "x/y")
        #expect(try await m.link(upstream: "docker.io", repository: "library/a", digest: d, audience: shared)?.size == 1)
        #expect(try await m.link(upstream: "docker.io", repository: "library/b", digest: d, audience: shared) == nil)
        #expect(try await m.repositories(audiences: [shared]).map(\.upstream) == ["docker.io", "ghcr.io"])
        // Which upstreams the bytes of a digest are known to have come from (any repository).
        #expect(try await m.hasLink(upstream: "ghcr.io", digest: d))
        #expect(try await !m.hasLink(upstream: "quay.io", digest: d))
        #expect(try await !m.hasLink(upstream: "docker.io", digest: Digest.sha256(of: [2])))
        // A user's own content is kept apart: visible to that audience only.
        try await m.putLink(LinkRecord(upstream: "docker.io", repository: "private/x", digest: d, size: 1, audience: .user(UserName("alice")!)))
        try await m.putTag(
            TagRecord(upstream: "docker.io", repository: "private/x", tag: "v", digest: d, fetchedAt: 1, audience: .user(UserName("alice")!)))
        #expect(try await m.link(upstream: "docker.io", repository: "private/x", digest: d, audience: shared) == nil)
        #expect(try await m.link(upstream: "docker.io", repository: "private/x", digest: d, audience: .user(UserName("alice")!)) != nil)
        #expect(try await m.tag(upstream: "docker.io", repository: "private/x", tag: "v", audience: .user(UserName("bob")!)) == nil)
        #expect(try await m.tags(upstream: "docker.io", repository: "private/x", audiences: [shared]).isEmpty)
        #expect(try await m.repositories(audiences: [shared]).count == 2)
        #expect(try await m.repositories(audiences: [shared, .user(UserName("alice")!)]).count == 3)
        try await m.deleteTag(upstream: "docker.io", repository: "library/a", tag: "1", audience: shared)
        #expect(try await m.tag(upstream: "docker.io", repository: "library/a", tag: "1", audience: shared) == nil)
    }

    @Test func credentialsEndWithWhatBegotThemAndAreCapped() async throws {
        let dir = tempDir()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = try SQLiteStore(path: dir + "/t.sqlite")
        func record(_ id: String, _ kind: SecretTokenRecord.Kind, origin: String? = nil, at t: Double) -> SecretTokenRecord {
            SecretTokenRecord(
                id: id, user: "u", kind: kind, label: "", secretHash: "h", created: Date(timeIntervalSince1970: t),
                expires: nil, origin: origin, client: "c")
        }
        try await m.insertSecretToken(record("pat", .personal, at: 1), keepNewest: nil)
        try await m.insertSecretToken(record("r-pat", .refresh, origin: "pat", at: 2), keepNewest: 3)
        try await m.insertSecretToken(record("r-pw", .refresh, at: 3), keepNewest: 3)
        #expect(try await m.secretToken(id: "r-pat")?.origin == "pat")
        #expect(try await m.secretToken(id: "r-pat")?.client == "c")
        // Revoking the personal token ends the refresh token obtained with it, not the other.
        #expect(try await m.deleteSecretToken(id: "pat"))
        #expect(try await m.secretToken(id: "r-pat") == nil)
        #expect(try await m.secretToken(id: "r-pw") != nil)
        // At most 3 refresh tokens: the oldest go.
        for i in 0..<4 { try await m.insertSecretToken(record("r\(i)", .refresh, at: Double(10 + i)), keepNewest: 3) }
        #expect(try await m.secretTokens(user: "u", kind: .refresh).map(\.id) == ["r1", "r2", "r3"])
        try await m.touchSecretToken(id: "r3", at: Date(timeIntervalSince1970: 99))
        #expect(try await m.secretToken(id: "r3")?.lastUsed == Date(timeIntervalSince1970: 99))
    }

    @Test func deletingAUserLeavesNothingOfThem() async throws {
        let dir = tempDir()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = try SQLiteStore(path: dir + "/t.sqlite")
        let d = Digest.sha256(of: [2])
        for audience in [Audience.user(UserName("ci")!), .shared] {
            try await m.putLink(LinkRecord(upstream: "docker.io", repository: "p/x", digest: d, size: 1, audience: audience))
            try await m.putTag(
                TagRecord(upstream: "docker.io", repository: "p/x", tag: "1", digest: d, fetchedAt: 1, audience: audience))
        }
        try await m.insertSecretToken(
            SecretTokenRecord(id: "t", user: "ci", kind: .personal, label: "", secretHash: "h", created: Date(), expires: nil),
            keepNewest: nil)
        try await m.putUpstreamSecret(
            UpstreamSecretRecord(user: "ci", upstream: "docker.io", username: "a", sealedPassword: Data([1]), created: Date()))
        try await m.putUserSettings(UserSettingsRecord(user: "ci", plan: "big"))
        var usage = UsageRecord(user: "ci", day: "2026-12-01", upstream: "docker.io")
        usage.requests = 3
        try await m.addUsage([usage])
        try await m.saveLimitWindows([LimitWindowRecord(subject: "u:ci", kind: "pulls", start: 1, used: 2)])
        let before = try await m.settingsVersion()

        try await m.eraseUser(UserName("ci")!, removed: Date())

        #expect(try await m.link(upstream: "docker.io", repository: "p/x", digest: d, audience: .user(UserName("ci")!)) == nil)
        #expect(try await m.tag(upstream: "docker.io", repository: "p/x", tag: "1", audience: .user(UserName("ci")!)) == nil)
        #expect(try await m.repositories(audiences: [.user(UserName("ci")!)]).isEmpty)
        #expect(try await m.link(upstream: "docker.io", repository: "p/x", digest: d, audience: .shared) != nil)
        #expect(try await m.secretToken(id: "t") == nil)
        #expect(try await m.upstreamSecrets(user: "ci").isEmpty)
        #expect(try await m.userSettings().isEmpty)
        #expect(try await m.usage(since: "2000-01-01", user: "ci").isEmpty)
        #expect(try await m.limitWindows(since: 0).isEmpty)
        #expect(try await m.settingsVersion() > before)
        #expect(try await m.userRemovals(after: before).map(\.user.value) == ["ci"])
        #expect(try await m.userRemovals(after: try await m.settingsVersion()).isEmpty)
        #expect(try await m.userRemovals(since: Date().addingTimeInterval(-60)).map(\.user.value) == ["ci"])
        #expect(try await m.userRemovals(since: Date().addingTimeInterval(60)).isEmpty)
    }
}
