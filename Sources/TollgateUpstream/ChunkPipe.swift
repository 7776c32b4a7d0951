import NIOCore
import Synchronization

/// Where a streamed upstream body goes: handed each part on the connection's event loop, with
/// backpressure: the connection reads on when the returned future completes (parts already read
/// may still be handed meanwhile; they are kept, in order).
public protocol ResponseBodySink: AnyObject, Sendable {
    func receive(_ part: ByteBuffer, on eventLoop: any EventLoop) -> EventLoopFuture<Void>
    /// The body ended: `error` is nil when it is complete.
    func finish(_ error: (any Error)?)
}

/// A bounded hand-off of body parts from the connection's event loop to the task that hashes
/// and writes them. Parts are taken on the event loop without a thread hop (AsyncHTTPClient's
/// async body reads ahead one part and hops twice per part, which capped a cold 64 MiB blob at
/// ~330 MB/s here); the connection is paused while `limit` bytes wait for the consumer.
public final class ChunkPipe: ResponseBodySink {
    private struct State {
        var parts: [ByteBuffer] = []
        var bytes = 0
        var finished = false
        var failure: (any Error)?
        var closed = false
        var consumer: CheckedContinuation<Void, Never>?
        var paused: EventLoopPromise<Void>?
    }
    private let state = Mutex(State())
    public let limit: Int

    public struct Closed: Error {}

    public init(limit: Int) { self.limit = limit }

    public func receive(_ part: ByteBuffer, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let (closed, wake, paused) = state.withLock {
            s -> (Bool, CheckedContinuation<Void, Never>?, EventLoopPromise<Void>?) in
            if s.closed { return (true, nil, nil) }
            s.parts.append(part)
            s.bytes += part.readableBytes
            let c = s.consumer
            s.consumer = nil
            if s.bytes >= limit {
                // Full: every part handed until the consumer takes waits for the same moment.
                let p = s.paused ?? eventLoop.makePromise(of: Void.self)
                s.paused = p
                return (false, c, p)
            }
            return (false, c, nil)
        }
        wake?.resume()
        if closed { return eventLoop.makeFailedFuture(Closed()) }
        return paused?.futureResult ?? eventLoop.makeSucceededVoidFuture()
    }

    public func finish(_ error: (any Error)?) {
        let wake = state.withLock { s in
            s.finished = true
            s.failure = error
            let c = s.consumer
            s.consumer = nil
            return c
        }
        wake?.resume()
    }

    /// The consumer gives up: the connection is released and further parts refused.
    public func close() {
        let paused = state.withLock { s in
            s.closed = true
            let p = s.paused
            s.paused = nil
            return p
        }
        paused?.fail(Closed())
    }

    /// Everything received so far; waits when empty. Nil at the end of the body; throws the
    /// connection's error.
    public func take() async throws -> [ByteBuffer]? {
        while true {
            let (batch, done, failure, paused) = state.withLock {
                s -> ([ByteBuffer], Bool, (any Error)?, EventLoopPromise<Void>?) in
                let batch = s.parts
                s.parts.removeAll(keepingCapacity: true)
                s.bytes = 0
                let p = s.paused
                s.paused = nil
                return (batch, s.finished, s.failure, p)
            }
            paused?.succeed()
            if !batch.isEmpty { return batch }
            if let failure { throw failure }
            if done { return nil }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { s in
                    if !s.parts.isEmpty || s.finished { return true }
                    s.consumer = c
                    return false
                }
                if ready { c.resume() }
            }
        }
    }
}
