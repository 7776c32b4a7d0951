import Foundation
import NIOCore
import RegistryCore
import Synchronization
import TollgateProxy

/// `BlobStore` in memory, for unit tests: a writer's bytes are readable behind it and published
/// by `commit`; a reader keeps the bytes it opened (a removed blob stays readable through it);
/// quarantined blobs are kept apart; the clean-stop state lives as long as the instance (a restart
/// is using the same instance again).
public final class InMemoryBlobStore: BlobStore {
    struct State {
        var blobs: [Digest: StoredBytes] = [:]
        var quarantined: [String: StoredBytes] = [:]
        /// Between a clean stop and the next `beginRun`.
        var cleanlyStopped = false
        var lastCleanStop: Double?
    }

    private let state = Mutex(State())

    public init() {}

    public func size(of digest: Digest) async throws -> Int64? {
        state.withLock { $0.blobs[digest].map { Int64($0.bytes.count) } }
    }

    public func reader(_ digest: Digest) async throws -> (any BlobReader)? {
        state.withLock { $0.blobs[digest].map(InMemoryBlobReader.init) }
    }

    public func writer() async throws -> any BlobWriter { InMemoryBlobWriter(store: self) }

    /// Sorted by digest (the port promises no order).
    public func list() async throws -> [StoredBlob] {
        state.withLock { state in
            state.blobs.map { StoredBlob(digest: $0.key, size: Int64($0.value.bytes.count), modified: $0.value.modified) }
                .sorted { $0.digest < $1.digest }
        }
    }

    @discardableResult public func remove(_ digest: Digest) async throws -> Bool {
        state.withLock { $0.blobs.removeValue(forKey: digest) != nil }
    }

    public func quarantine(_ digest: Digest) async throws -> String {
        try state.withLock { state in
            guard let blob = state.blobs.removeValue(forKey: digest) else {
                throw BlobStoreError(description: "quarantine \(digest): not stored")
            }
            let place = "memory:damaged/\(digest.algorithm)-\(digest.hex)-\(state.quarantined.count)"
            state.quarantined[place] = blob
            return place
        }
    }

    public func quarantinedCount() async throws -> Int {
        state.withLock { $0.quarantined.count }
    }

    public func beginRun() async -> PreviousRun {
        state.withLock { state in
            defer { state.cleanlyStopped = false }  // from now on, a stop is a crash
            return state.cleanlyStopped ? .clean : .crashed(lastCleanStop: state.lastCleanStop)
        }
    }

    public func recordCleanStop(at time: Double) async {
        state.withLock { state in
            state.cleanlyStopped = true
            state.lastCleanStop = time
        }
    }

    func publish(_ bytes: [UInt8], as digest: Digest) {
        let blob = StoredBytes(bytes: bytes, modified: Date().timeIntervalSince1970)
        state.withLock { $0.blobs[digest] = blob }
    }
}

/// A blob's bytes, never changed once stored: readers share them.
final class StoredBytes: Sendable {
    let bytes: [UInt8]
    let modified: Double

    init(bytes: [UInt8], modified: Double) {
        self.bytes = bytes
        self.modified = modified
    }
}

/// Reads up to `count` bytes of `bytes` at `offset` into `buffer` (cleared first).
func readBytes(_ bytes: [UInt8], at offset: Int64, count: Int, into buffer: consuming ByteBuffer) -> ByteBuffer {
    var buffer = buffer
    buffer.clear()
    let start = Int(clamping: max(offset, 0))
    if start < bytes.count {
        buffer.writeBytes(bytes[start..<min(bytes.count, start + max(count, 0))])
    }
    return buffer
}

struct InMemoryBlobReader: BlobReader {
    let blob: StoredBytes

    var size: Int64 { Int64(blob.bytes.count) }

    func read(at offset: Int64, count: Int, into buffer: consuming ByteBuffer) async throws -> ByteBuffer {
        readBytes(blob.bytes, at: offset, count: count, into: buffer)
    }
}

/// Bytes appended by one task at a time, read behind by any; published once, by `commit`.
final class InMemoryBlobWriter: BlobWriter {
    private let store: InMemoryBlobStore
    private let written = Mutex<(bytes: [UInt8], finished: Bool)>(([], false))

    init(store: InMemoryBlobStore) { self.store = store }

    func read(at offset: Int64, count: Int, into buffer: consuming ByteBuffer) async throws -> ByteBuffer {
        let bytes = written.withLock { $0.bytes }
        return readBytes(bytes, at: offset, count: count, into: buffer)
    }

    func append(_ bytes: ByteBuffer) async throws {
        try written.withLock { written in
            guard !written.finished else { throw BlobStoreError(description: "blob writer already finished") }
            written.bytes.append(contentsOf: bytes.readableBytesView)
        }
    }

    func commit(as digest: Digest, durable: Bool) async throws {
        let bytes = try written.withLock { written in
            guard !written.finished else { throw BlobStoreError(description: "blob writer already finished") }
            written.finished = true
            return written.bytes
        }
        store.publish(bytes, as: digest)
    }

    func abort() async {
        written.withLock { $0.finished = true }
    }
}
