import NIOCore
import Synchronization

/// A bounded hand-off of body chunks from the task reading the upstream socket to the task
/// hashing and writing them to disk. AsyncHTTPClient reads ahead only one chunk, so reading
/// and writing in one loop would make every disk write stall the network; with the pipe the
/// network side keeps reading while up to `limit` bytes wait for the disk.
final class ChunkPipe: Sendable {
    private struct State {
        var chunks: [ByteBuffer] = []
        var bytes = 0
        var finished = false
        var failure: (any Error)?
        var closed = false
        var consumer: CheckedContinuation<Void, Never>?
        var producer: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Adds a chunk, waiting while the pipe is full. Returns false once the consumer closed the pipe.
    func push(_ chunk: ByteBuffer) async -> Bool {
        while true {
            let (accepted, closed, wake) = state.withLock { s -> (Bool, Bool, CheckedContinuation<Void, Never>?) in
                if s.closed { return (false, true, nil) }
                guard s.bytes < limit else { return (false, false, nil) }
                s.chunks.append(chunk)
                s.bytes += chunk.readableBytes
                let c = s.consumer
                s.consumer = nil
                return (true, false, c)
            }
            wake?.resume()
            if accepted { return true }
            if closed { return false }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { s in
                    if s.closed || s.bytes < limit { return true }
                    s.producer = c
                    return false
                }
                if ready { c.resume() }
            }
        }
    }

    /// The producer is done: `error` nil for a complete body.
    func finish(_ error: (any Error)?) {
        let wake = state.withLock { s in
            s.finished = true
            s.failure = error
            let c = s.consumer
            s.consumer = nil
            return c
        }
        wake?.resume()
    }

    /// The consumer gives up: a waiting or later `push` returns false.
    func close() {
        let wake = state.withLock { s in
            s.closed = true
            let c = s.producer
            s.producer = nil
            return c
        }
        wake?.resume()
    }

    /// Everything buffered so far; waits when empty. Nil at the end of the body; throws the
    /// producer's error.
    func take() async throws -> [ByteBuffer]? {
        while true {
            let (batch, done, failure, wake) = state.withLock {
                s -> ([ByteBuffer], Bool, (any Error)?, CheckedContinuation<Void, Never>?) in
                let batch = s.chunks
                s.chunks.removeAll(keepingCapacity: true)
                s.bytes = 0
                let c = s.producer
                s.producer = nil
                return (batch, s.finished, s.failure, c)
            }
            wake?.resume()
            if !batch.isEmpty { return batch }
            if let failure { throw failure }
            if done { return nil }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { s in
                    if !s.chunks.isEmpty || s.finished { return true }
                    s.consumer = c
                    return false
                }
                if ready { c.resume() }
            }
        }
    }
}
