import NIOCore
import RegistryCore
import Synchronization

/// One upstream download of one blob into a temporary file, shared by every client that asks
/// for it while it runs (single-flight). Clients read the file behind the writer; the last byte
/// is held back until the whole content has been verified against its digest, so
/// no client ever receives a complete response whose bytes don't match. With an unknown size the
/// response is chunked and its end (the last chunk, or HTTP/2's end of stream) is what is held
/// back: readers get every byte that arrived, and the end only once `complete`.
///
/// It also counts the clients attending it (waiting for its start, reading, or waiting for the
/// verified blob), so the download can stop once nobody wants it (`isAbandoned`).
public final class BlobFill: Sendable {
    public let digest: Digest
    /// A fill nobody attends keeps going this close to its end: less than `nearEndBytes` left,
    /// or at least `nearEndShare` percent done (of a known size).
    static let nearEndBytes: Int64 = 8 << 20
    static let nearEndShare: Int64 = 90

    enum Phase {
        /// Waiting for the upstream response head.
        case starting
        /// Bytes are arriving; `size` is the upstream's Content-Length or the size a manifest
        /// declared (nil: unknown until the end).
        case streaming(file: any BlobReadable, size: Int64?)
        /// Every byte arrived and matched the digest (the file may still be being made durable).
        case complete(file: any BlobReadable, size: Int64)
        case failed(any Error)
    }

    struct State {
        var phase: Phase = .starting
        var written: Int64 = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
        /// Clients attending the fill now.
        var attendants = 0
        /// Since when nobody attends (nil while someone does).
        var unattendedSince: ContinuousClock.Instant? = .now
        /// Until the bytes show otherwise the blob may be a manifest, which the blob endpoint
        /// must not hand out: readers get nothing before it is verified and sniffed.
        var mayBeManifest = true
    }

    private let state = Mutex(State())

    init(digest: Digest) {
        self.digest = digest
    }

    // MARK: - Writer side (the fill task)

    func begin(file: any BlobReadable, size: Int64?) {
        update {
            $0.phase = .streaming(file: file, size: size)
            if let size, size > ManifestSniff.maxLength { $0.mayBeManifest = false }
        }
    }
    /// The bytes so far can't be a manifest's (not JSON, or longer than any manifest).
    func notManifest() { update { $0.mayBeManifest = false } }
    var mayBeManifest: Bool { state.withLock { $0.mayBeManifest } }
    func progress(written: Int64) { update { $0.written = written } }
    /// All bytes arrived and match the digest.
    func complete(file: any BlobReadable, size: Int64) {
        update {
            $0.written = size
            $0.phase = .complete(file: file, size: size)
        }
    }
    /// The download failed. After `complete` this changes nothing for readers: their bytes are
    /// verified, only making the file durable went wrong.
    func fail(_ error: any Error) {
        update { s in
            if case .complete = s.phase { return }
            s.phase = .failed(error)
        }
    }

    /// True when nobody has attended the fill for `grace` and it is not near its end (then
    /// finishing it is cheaper than starting over).
    func isAbandoned(now: ContinuousClock.Instant, grace: Duration) -> Bool {
        state.withLock { s in
            guard s.attendants == 0, let since = s.unattendedSince, now - since >= grace else { return false }
            guard case .streaming(_, let size?) = s.phase else { return true }
            let left = size - s.written
            return left > Self.nearEndBytes && s.written * 100 < size * Self.nearEndShare
        }
    }

    private func update(_ change: (inout State) -> Void) {
        let waiters = state.withLock { s in
            change(&s)
            let w = s.waiters
            s.waiters.removeAll()
            return w
        }
        for w in waiters { w.resume() }
    }

    // MARK: - Reader side

    /// What a reader may do next.
    public enum Availability: Sendable {
        /// Bytes `[..<readableEnd)` of `file` may be sent.
        case readable(file: any BlobReadable, readableEnd: Int64, size: Int64?, complete: Bool)
        case failed(any Error)
    }

    /// Runs `body` counted as a client attending the fill (it keeps the download going).
    public func attend<T>(_ body: () async throws -> T) async rethrows -> T {
        state.withLock { s in
            s.attendants += 1
            s.unattendedSince = nil
        }
        defer {
            state.withLock { s in
                s.attendants -= 1
                if s.attendants == 0 { s.unattendedSince = .now }
            }
        }
        return try await body()
    }

    /// Waits until the upstream response head arrived and the first bytes show the blob is no
    /// manifest (one that may be is verified and sniffed first: then the client gets a clean
    /// 404, not a cut response); returns the size if it is known (the upstream's Content-Length,
    /// or the size a manifest declared).
    public func waitUntilStarted() async throws -> Int64? {
        try await attend { () async throws -> Int64? in
            let started = await waitFor { s -> Result<Int64?, any Error>? in
                switch s.phase {
                case .starting: return nil
                case .failed(let e): return .failure(e)
                case .complete(_, let size): return .success(size)
                case .streaming(_, let size): return s.mayBeManifest ? nil : .success(size)
                }
            }
            return try started.get()
        }
    }

    /// Waits until every byte arrived and matched the digest; returns the size. For readers that
    /// must not see a byte before that (ranged reads).
    public func waitUntilVerified() async throws -> Int64 {
        try await attend { () async throws -> Int64 in
            var offset: Int64 = -1
            while true {
                switch await next(after: offset) {
                case .failed(let e): throw e
                case .readable(_, _, let size?, true): return size
                case .readable(_, let readableEnd, _, false): offset = max(offset, readableEnd)
                case .readable(_, _, nil, true): throw RegistryError(.unknown, "a completed download has no size")
                }
            }
        }
    }

    /// Waits for bytes beyond `offset` that may be sent (or completion, or failure).
    public func next(after offset: Int64) async -> Availability {
        await waitFor { Self.evaluate($0, after: offset) }
    }

    /// Waits until `ready` says something of the state (every change wakes the waiters).
    private func waitFor<T>(_ ready: (State) -> T?) async -> T {
        while true {
            if let answer = state.withLock({ ready($0) }) { return answer }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s in
                    if ready(s) != nil { return true }
                    s.waiters.append(c)
                    return false
                }
                if resumeNow { c.resume() }
            }
        }
    }

    private static func evaluate(_ s: State, after offset: Int64) -> Availability? {
        switch s.phase {
        case .starting:
            return nil
        case .failed(let e):
            return .failed(e)
        case .complete(let file, let size):
            return .readable(file: file, readableEnd: size, size: size, complete: true)
        case .streaming(let file, let size):
            // Hold back the last byte until the content is verified; with an unknown size, the
            // end of the chunked response (a reader that writes notices when its client left).
            let end = s.mayBeManifest ? 0 : size.map { min(s.written, $0 - 1) } ?? s.written
            if offset < 0 || end > offset {
                return .readable(file: file, readableEnd: max(end, 0), size: size, complete: false)
            }
            return nil
        }
    }
}
