import Foundation
import NIOCore
import RegistryCore
import Testing
import TollgateProxy

/// The contract of `BlobStore`, for every adapter.
public struct BlobStoreConformance<Store: BlobStore>: ConformanceSuite {
    let engine: Engine<Store>

    public init(_ engine: Engine<Store>) { self.engine = engine }

    public var checks: [Check] {
        [
            ("writeReadBehindCommitRead", writeReadBehindCommitRead),
            ("abortDropsAndIsIdempotent", abortDropsAndIsIdempotent),
            ("aFinishedWriterDoesNotCommitAgain", aFinishedWriterDoesNotCommitAgain),
            ("removedBlobStaysReadableThroughAnOpenReader", removedBlobStaysReadableThroughAnOpenReader),
            ("quarantineTakesTheBlobOut", quarantineTakesTheBlobOut),
            ("previousRunCleanOnlyAfterACleanStop", previousRunCleanOnlyAfterACleanStop),
            ("survivesARestart", survivesARestart),
            ("twoConcurrentWriters", twoConcurrentWriters),
        ]
    }

    func writeReadBehindCommitRead() async throws {
        let store = try await engine.open().store
        let bytes = Array("hello blob".utf8)
        let digest = Digest.sha256(of: bytes)
        #expect(try await store.reader(digest) == nil)
        #expect(try await store.size(of: digest) == nil)
        #expect(try await store.list().isEmpty)
        let started = Date().timeIntervalSince1970
        let writer = try await store.writer()
        try await writer.append(ByteBuffer(bytes: bytes[..<6]))
        // Readable behind the writer, not published yet.
        #expect(try await read(writer, at: 0, count: 100) == Array("hello ".utf8))
        #expect(try await store.size(of: digest) == nil)
        try await writer.append(ByteBuffer(bytes: bytes[6...]))
        #expect(try await read(writer, at: 6, count: 4) == Array("blob".utf8))
        try await writer.commit(as: digest, durable: true)
        let reader = try #require(try await store.reader(digest))
        #expect(reader.size == Int64(bytes.count))
        #expect(try await read(reader, at: 6, count: 4) == Array("blob".utf8))
        // Fewer only at the end; a buffer's old content is not kept.
        #expect(try await read(reader, at: 8, count: 100) == Array("ob".utf8))
        #expect(try await read(reader, at: 10, count: 4).isEmpty)
        let reused = try await reader.read(at: 0, count: 5, into: ByteBuffer(string: "junk junk junk"))
        #expect(Array(reused.readableBytesView) == Array("hello".utf8))
        #expect(try await store.size(of: digest) == Int64(bytes.count))
        let listed = try await store.list()
        #expect(listed.map(\.digest) == [digest])
        #expect(listed.first?.size == Int64(bytes.count))
        let modified = try #require(listed.first?.modified)
        #expect(modified > started - 5 && modified < Date().timeIntervalSince1970 + 5)
    }

    func abortDropsAndIsIdempotent() async throws {
        let store = try await engine.open().store
        let writer = try await store.writer()
        try await writer.append(ByteBuffer(string: "partial"))
        await writer.abort()
        await writer.abort()
        #expect(try await store.list().isEmpty)
        #expect(try await store.size(of: Digest.sha256(of: Array("partial".utf8))) == nil)
        await #expect(throws: (any Error).self) {
            try await writer.commit(as: Digest.sha256(of: Array("partial".utf8)), durable: false)
        }
        #expect(try await store.list().isEmpty)
    }

    func aFinishedWriterDoesNotCommitAgain() async throws {
        let store = try await engine.open().store
        let (digest, _) = try await put(store, "once")
        let writer = try await store.writer()
        try await writer.append(ByteBuffer(string: "twice"))
        try await writer.commit(as: Digest.sha256(of: Array("twice".utf8)), durable: false)
        await #expect(throws: (any Error).self) { try await writer.commit(as: digest, durable: false) }
        await writer.abort()  // after a commit: nothing to drop, no failure
        #expect(try await store.size(of: Digest.sha256(of: Array("twice".utf8))) == 5)
        #expect(try await store.size(of: digest) == 4)
    }

    func removedBlobStaysReadableThroughAnOpenReader() async throws {
        let store = try await engine.open().store
        let (digest, bytes) = try await put(store, "to be removed")
        let reader = try #require(try await store.reader(digest))
        #expect(try await store.remove(digest))
        #expect(try await !store.remove(digest))
        #expect(try await read(reader, at: 0, count: 100) == bytes)
        #expect(try await store.reader(digest) == nil)
        #expect(try await store.size(of: digest) == nil)
        #expect(try await store.list().isEmpty)
    }

    func quarantineTakesTheBlobOut() async throws {
        let store = try await engine.open().store
        #expect(try await store.quarantinedCount() == 0)
        let (digest, _) = try await put(store, "damaged")
        let (other, _) = try await put(store, "fine")
        let place = try await store.quarantine(digest)
        #expect(!place.isEmpty)
        #expect(try await store.quarantinedCount() == 1)
        #expect(try await store.size(of: digest) == nil)
        #expect(try await store.reader(digest) == nil)
        #expect(try await store.list().map(\.digest) == [other])
        // Nothing stored under the name: an error, nothing kept.
        await #expect(throws: (any Error).self) { _ = try await store.quarantine(digest) }
        #expect(try await store.quarantinedCount() == 1)
    }

    func previousRunCleanOnlyAfterACleanStop() async throws {
        let (store, reopen) = try await engine.open()
        // The first start is a crash with no clean stop ever.
        #expect(await store.beginRun() == .crashed(lastCleanStop: nil))
        await store.recordCleanStop(at: 5)
        let restarted = try await reopen()
        #expect(await restarted.beginRun() == .clean)
        // Begun again without a clean stop since: a crash, after the last clean stop.
        let crashed = try await reopen()
        #expect(await crashed.beginRun() == .crashed(lastCleanStop: 5))
        await crashed.recordCleanStop(at: 7)
        #expect(await crashed.beginRun() == .clean)
        #expect(await crashed.beginRun() == .crashed(lastCleanStop: 7))
    }

    func survivesARestart() async throws {
        let (store, reopen) = try await engine.open()
        let (digest, bytes) = try await put(store, "durable")
        let (quarantined, _) = try await put(store, "quarantined")
        _ = try await store.quarantine(quarantined)
        let again = try await reopen()
        let reader = try #require(try await again.reader(digest))
        #expect(try await read(reader, at: 0, count: 100) == bytes)
        #expect(try await again.list().map(\.digest) == [digest])
        #expect(try await again.quarantinedCount() == 1)
    }

    func twoConcurrentWriters() async throws {
        let store = try await engine.open().store
        try await concurrently(each: 25) { task, i in
            let bytes = Array("blob \(task) \(i)".utf8)
            let writer = try await store.writer()
            for byte in bytes { try await writer.append(ByteBuffer(bytes: [byte])) }
            try await writer.commit(as: Digest.sha256(of: bytes), durable: false)
        }
        let listed = try await store.list()
        #expect(listed.count == 50)
        for task in 0..<2 {
            for i in 0..<25 {
                let bytes = Array("blob \(task) \(i)".utf8)
                let reader = try #require(try await store.reader(Digest.sha256(of: bytes)))
                #expect(try await read(reader, at: 0, count: 100) == bytes)
            }
        }
    }

    /// Stores `text` under its digest.
    private func put(_ store: Store, _ text: String) async throws -> (Digest, [UInt8]) {
        let bytes = Array(text.utf8)
        let digest = Digest.sha256(of: bytes)
        let writer = try await store.writer()
        try await writer.append(ByteBuffer(bytes: bytes))
        try await writer.commit(as: digest, durable: true)
        return (digest, bytes)
    }

    private func read(_ blob: some BlobReadable, at offset: Int64, count: Int) async throws -> [UInt8] {
        Array(try await blob.read(at: offset, count: count).readableBytesView)
    }
}
