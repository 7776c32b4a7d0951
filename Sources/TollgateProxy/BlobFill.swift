import NIOCore
import RegistryCore
import Synchronization
import TollgateStorage

/// One upstream download of one blob into a temporary file, shared by every client that asks
/// for it while it runs (single-flight). Clients read the file behind the writer; the last byte
/// is held back until the whole content has been verified against its digest, so
/// no client ever receives a complete response whose bytes don't match.
public final class BlobFill: Sendable {
    public let digest: Digest

    enum Phase {
        /// Waiting for the upstream response head.
        case starting
        /// Bytes are arriving; `size` is the upstream's Content-Length (nil: unknown until the end).
        case streaming(file: BlobFile, size: Int64?)
        /// Every byte arrived and matched the digest (the file may still be being made durable).
        case complete(file: BlobFile, size: Int64)
        case failed(any Error)
    }

    struct State {
        var phase: Phase = .starting
        var written: Int64 = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    init(digest: Digest) {
        self.digest = digest
    }

    // MARK: - Writer side (the fill task)

    func begin(file: BlobFile, size: Int64?) { update { $0.phase = .streaming(file: file, size: size) } }
    func progress(written: Int64) { update { $0.written = written } }
    /// All bytes arrived and match the digest.
    func complete(file: BlobFile, size: Int64) {
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
        case readable(file: BlobFile, readableEnd: Int64, size: Int64?, complete: Bool)
        case failed(any Error)
    }

    /// Waits until the upstream response head arrived; returns the size if the upstream said it.
    public func waitUntilStarted() async throws -> Int64? {
        while true {
            switch await next(after: -1) {
            case .failed(let e): throw e
            case .readable(_, _, let size, _): return size
            }
        }
    }

    /// Waits for bytes beyond `offset` that may be sent (or completion, or failure).
    public func next(after offset: Int64) async -> Availability {
        while true {
            if let ready = state.withLock({ Self.evaluate($0, after: offset) }) { return ready }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s in
                    if Self.evaluate(s, after: offset) != nil { return true }
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
            // Hold back the last byte until the content is verified; with an unknown size,
            // everything (readers of such a fill wait for the commit).
            let end = size.map { min(s.written, $0 - 1) } ?? 0
            if offset < 0 || end > offset {
                return .readable(file: file, readableEnd: max(end, 0), size: size, complete: false)
            }
            return nil
        }
    }
}
