import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// Delivers a response's body straight into a `ResponseBodySink` on the event loop, and the
/// response head (of any status) through a promise. Only the bodies of statuses `streams`
/// accepts (by default 200) are delivered; others are dropped.
public final class SinkDelegate: HTTPClientResponseDelegate, @unchecked Sendable {
    // Mutable state is touched only on the request's event loop (AsyncHTTPClient's contract).
    public typealias Response = Void

    let sink: any ResponseBodySink
    let head: EventLoopPromise<HTTPResponseHead>
    let streams: @Sendable (HTTPResponseStatus) -> Bool
    private var streaming = false
    private var headDelivered = false

    public init(
        sink: any ResponseBodySink, head: EventLoopPromise<HTTPResponseHead>,
        streams: @escaping @Sendable (HTTPResponseStatus) -> Bool = { $0 == .ok }
    ) {
        self.sink = sink
        self.head = head
        self.streams = streams
    }

    public func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        headDelivered = true
        streaming = streams(head.status)
        self.head.succeed(head)
        return task.eventLoop.makeSucceededVoidFuture()
    }

    public func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        guard streaming else { return task.eventLoop.makeSucceededVoidFuture() }
        return sink.receive(buffer, on: task.eventLoop)
    }

    public func didReceiveError(task: HTTPClient.Task<Void>, _ error: any Error) {
        if !headDelivered { head.fail(error) }
        if streaming { sink.finish(error) }
    }

    public func didFinishRequest(task: HTTPClient.Task<Void>) throws {
        if !headDelivered { head.fail(HTTPClientError.remoteConnectionClosed) }
        if streaming { sink.finish(nil) }
    }
}
