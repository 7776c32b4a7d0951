import NIOCore
import RegistryCore

/// The proxy's content-addressed storage: immutable blobs named by their digest, written through
/// a `BlobWriter` and published under a digest the caller verified. Nothing in it is a file:
/// the file-system adapter (`FileBlobStore`), an in-memory one for tests, or an object store
/// implement it alike.
public protocol BlobStore: Sendable {
    /// The stored blob's size, or nil when it isn't stored.
    func size(of digest: Digest) async throws -> Int64?
    /// A reader of a stored blob, or nil when it isn't stored. A blob removed meanwhile stays
    /// readable through a reader opened before.
    func reader(_ digest: Digest) async throws -> (any BlobReader)?
    /// A new, empty writer: bytes appended to it are readable behind it (a download's clients
    /// read what has arrived) and published by `commit(as:durable:)`.
    func writer() async throws -> any BlobWriter
    /// Every stored blob, with size and when it was written.
    func list() async throws -> [StoredBlob]
    /// Removes a stored blob; returns whether it was there.
    @discardableResult func remove(_ digest: Digest) async throws -> Bool
    /// Takes a blob whose bytes don't match its name out of the store, keeping it for
    /// inspection where the store can; returns where it went.
    func quarantine(_ digest: Digest) async throws -> String
    /// How many quarantined blobs are kept.
    func quarantinedCount() async throws -> Int
    /// Crash recovery: how the previous run ended. From this call until `recordCleanStop`, a
    /// stop counts as a crash.
    func beginRun() async -> PreviousRun
    /// Notes a clean stop at `time` (seconds since 1970).
    func recordCleanStop(at time: Double) async
}

/// How the previous run of a store's owner ended.
public enum PreviousRun: Sendable, Equatable {
    /// A clean stop: nothing to check.
    case clean
    /// A crash (or the first start): blobs written since the last clean stop (all of them when
    /// there was none) may be damaged.
    case crashed(lastCleanStop: Double?)
}

/// Bytes of one blob, read at any offset.
public protocol BlobReadable: Sendable {
    /// Reads up to `count` bytes at `offset` into `buffer`'s storage (reused when nobody else
    /// holds it, so streaming a large blob doesn't allocate per chunk); fewer only at the end.
    func read(at offset: Int64, count: Int, into buffer: consuming ByteBuffer) async throws -> ByteBuffer
}

extension BlobReadable {
    public func read(at offset: Int64, count: Int) async throws -> ByteBuffer {
        try await read(at: offset, count: count, into: ByteBufferAllocator().buffer(capacity: count))
    }
}

/// A stored blob, open for reading.
public protocol BlobReader: BlobReadable {
    var size: Int64 { get }
}

/// A blob being written: appended to, then committed under its digest or aborted.
public protocol BlobWriter: BlobReadable {
    /// Appends `bytes` at the end.
    func append(_ bytes: ByteBuffer) async throws
    /// Publishes what was written under `digest` (which the caller verified). With `durable`,
    /// the bytes and the publication survive a crash once this returns; without, a crash may
    /// leave a damaged blob, which readers must verify.
    func commit(as digest: Digest, durable: Bool) async throws
    /// Drops what was written. Never fails; idempotent.
    func abort() async
}

/// A blob store's failure that clients should hear about as such.
public struct BlobStoreError: Error, CustomStringConvertible, Sendable {
    public let description: String
    /// No room left (a full disk, an exhausted quota): clients get 503 with `Retry-After`.
    public let isOutOfSpace: Bool

    public init(description: String, isOutOfSpace: Bool = false) {
        self.description = description
        self.isOutOfSpace = isOutOfSpace
    }
}

/// A stored blob as the blob store lists it.
public struct StoredBlob: Sendable, Equatable {
    public var digest: Digest
    public var size: Int64
    /// When it was written, seconds since 1970.
    public var modified: Double

    public init(digest: Digest, size: Int64, modified: Double) {
        self.digest = digest
        self.size = size
        self.modified = modified
    }
}
