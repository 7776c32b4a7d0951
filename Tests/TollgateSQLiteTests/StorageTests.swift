import Foundation
import NIOCore
import RegistryCore
import Testing
import TollgateFileStorage
import TollgateProxy

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
