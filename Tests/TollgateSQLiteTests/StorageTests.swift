import Foundation
import GRDB
import TollgateAdmin
import NIOCore
import RegistryCore
import Testing
import TollgateFileStorage
import TollgateProxy

@testable import TollgateSQLite

struct StorageTests {
    func tempDir() -> String { NSTemporaryDirectory() + "tollgate-storage-\(UUID().uuidString)" }

    /// The file layout (the contract: `BlobStoreConformance`).
    @Test func committedBlobIsAFileInItsPlace() async throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try FileBlobStore(root: dir)
        let bytes = Array("hello blob".utf8)
        let digest = Digest.sha256(of: bytes)
        let tmp = try await store.writer()
        try await tmp.append(ByteBuffer(bytes: bytes))
        try await tmp.commit(as: digest, durable: true)
        #expect(FileManager.default.fileExists(atPath: "\(dir)/blobs/sha256/\(digest.hex.prefix(2))/\(digest.hex)"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/tmp").isEmpty)
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
}

/// The audit log refuses to be changed, whoever asks: the table's triggers, not only the adapter.
struct AuditLogAppendOnlyTests {
    @Test func updatesAndDeletesAreRefused() async throws {
        let path = NSTemporaryDirectory() + "tollgate-audit-\(UUID().uuidString).sqlite"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try SQLiteStore(path: path)
        try await store.appendAudit(AuditEntry(at: Date(), actor: "cli", address: "local", action: "user.add", target: "a"))
        for sql in ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"] {
            await #expect(throws: (any Error).self, "\(sql)") { try await store.pool.write { try $0.execute(sql: sql) } }
        }
        #expect(try await store.auditEntries(since: .distantPast, limit: 10).map(\.actor) == ["cli"])
    }
}
