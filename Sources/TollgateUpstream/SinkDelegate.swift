import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// Delivers a 200 response's body straight into a `ResponseBodySink` on the event loop, and the
/// response head (of any status) through a promise. Other statuses' bodies are dropped.
final class SinkDelegate: HTTPClientResponseDelegate, @unchecked Sendable {
    // Mutable state is touched only on the request's event loop (AsyncHTTPClient's contract).
    typealias Response = Void

    let sink: any ResponseBodySink
    let head: EventLoopPromise<HTTPResponseHead>
    private var streaming = false
    private var headDelivered = false

    init(sink: any ResponseBodySink, head: EventLoopPromise<HTTPResponseHead>) {
        self.sink = sink
        self.head = head
    }

    func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        headDelivered = true
        streaming = head.status == .ok
        self.head.succeed(head)
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        guard streaming else { return task.eventLoop.makeSucceededVoidFuture() }
        return sink.receive(buffer, on: task.eventLoop)
    }

    func didReceiveError(task: HTTPClient.Task<Void>, _ error: any Error) {
        if !headDelivered { head.fail(error) }
        if streaming { sink.finish(error) }
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws {
        if !headDelivered { head.fail(HTTPClientError.remoteConnectionClosed) }
        if streaming { sink.finish(nil) }
    }
}
