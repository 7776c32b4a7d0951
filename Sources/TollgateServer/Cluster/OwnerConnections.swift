import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import TollgateUpstream

/// Plain-HTTP connections to the other nodes for relayed bodies, kept alive per node and event
/// loop. They read up to 1 MiB per system call (AsyncHTTPClient's connections read at most
/// 64 KiB, which nearly doubled a relay's CPU), on the event loop of the client's connection, so a
/// relayed part goes from one socket to the other without changing threads.
final class OwnerConnections: Sendable {
    /// A node's address: where `http://host:port` connects.
    struct Address: Hashable, Sendable {
        let host: String
        let port: Int
    }

    /// An `http://` URL's address and the path prefix before a request's target; nil for any other
    /// URL (an `https://` node is reached through AsyncHTTPClient).
    static func address(of url: String) -> (address: Address, prefix: String)? {
        guard let parts = URLComponents(string: url), parts.scheme?.lowercased() == "http",
            var host = parts.host, !host.isEmpty, parts.user == nil, parts.query == nil, parts.fragment == nil
        else { return nil }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let port = parts.port ?? 80
        guard (1...65535).contains(port) else { return nil }
        var prefix = parts.percentEncodedPath
        while prefix.hasSuffix("/") { prefix.removeLast() }
        return (Address(host: host, port: port), prefix)
    }

    private let idle = Mutex<[Address: [any Channel]]>([:])
    let connectTimeout: TimeAmount
    let answerTimeout: TimeAmount
    /// How long a body may pause (the owner sending nothing while the client is ready) before the
    /// connection is given up.
    let readTimeout: TimeAmount
    static let maxIdlePerNode = 32

    init(connectTimeout: TimeAmount, answerTimeout: TimeAmount, readTimeout: TimeAmount = .seconds(60)) {
        self.connectTimeout = connectTimeout
        self.answerTimeout = answerTimeout
        self.readTimeout = readTimeout
    }

    /// One request's exchange: its answer's head, and a way to end it early.
    struct Exchange: Sendable {
        let head: EventLoopFuture<HTTPResponseHead>
        let cancel: @Sendable () -> Void
    }

    /// Sends `GET target` to `address` on `eventLoop` (a kept connection there if there is one):
    /// the answer's head completes `head`, its body goes to `sink`. A kept connection that turns
    /// out closed before any answer is replaced by a new one once.
    func get(
        _ address: Address, target: String, headers: HTTPHeaders, on preferred: any EventLoop, sink: any ResponseBodySink
    ) -> Exchange {
        // A loop sockets can't be opened on (a test's embedded one): one of NIO's.
        let eventLoop = ClientBootstrap(validatingGroup: preferred) != nil ? preferred : MultiThreadedEventLoopGroup.singleton.next()
        let hostField = address.host.contains(":") ? "[\(address.host)]" : address.host
        var fields = headers
        fields.replaceOrAdd(name: "Host", value: address.port == 80 ? hostField : "\(hostField):\(address.port)")
        let request = HTTPRequestHead(version: .http1_1, method: .GET, uri: target, headers: fields)
        let exchange = RelayExchange(sink: sink, eventLoop: eventLoop)
        let headFuture = exchange.head.futureResult
        eventLoop.execute {
            self.start(exchange, request, to: address, kept: self.takeIdle(address, on: eventLoop))
        }
        let timeout = eventLoop.scheduleTask(in: answerTimeout) { exchange.abort(RelayError.noAnswer) }
        headFuture.whenComplete { _ in timeout.cancel() }
        return Exchange(head: headFuture, cancel: { eventLoop.execute { exchange.abort(RelayError.cancelled) } })
    }

    /// Runs on `exchange.eventLoop`.
    private func start(_ exchange: RelayExchange, _ request: HTTPRequestHead, to address: Address, kept: (any Channel)?) {
        if exchange.ended { return }
        if let kept {
            guard let handler = try? kept.pipeline.syncOperations.handler(type: RelayHandler.self), kept.isActive,
                handler.begin(exchange, on: kept)
            else {
                kept.close(promise: nil)
                return start(exchange, request, to: address, kept: nil)
            }
            exchange.onEarlyClose = { [weak exchange] in
                // A kept connection the owner had closed: once more on a new one.
                guard let exchange else { return }
                exchange.onEarlyClose = nil
                self.start(exchange, request, to: address, kept: nil)
            }
            return send(request, on: kept)
        }
        let readTimeout = self.readTimeout
        ClientBootstrap(group: exchange.eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelOption(
                ChannelOptions.recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 4096, initial: 64 << 10, maximum: 1 << 20)
            )
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandlers([
                        IdleStateHandler(readTimeout: readTimeout), RelayHandler(pool: self, address: address),
                    ])
                }
            }
            .connect(host: address.host, port: address.port)
            .whenComplete { result in
                switch result {
                case .failure(let error):
                    exchange.abort(error)
                case .success(let channel):
                    guard let handler = try? channel.pipeline.syncOperations.handler(type: RelayHandler.self),
                        handler.begin(exchange, on: channel)
                    else {
                        channel.close(promise: nil)
                        exchange.abort(RelayError.cancelled)
                        return
                    }
                    self.send(request, on: channel)
                }
            }
    }

    private func send(_ request: HTTPRequestHead, on channel: any Channel) {
        channel.write(HTTPClientRequestPart.head(request), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

    /// A kept connection to `address` on `eventLoop` (the others stay for requests on theirs).
    private func takeIdle(_ address: Address, on eventLoop: any EventLoop) -> (any Channel)? {
        idle.withLock { idle in
            guard var channels = idle[address] else { return nil }
            defer { idle[address] = channels.isEmpty ? nil : channels }
            channels.removeAll { !$0.isActive }
            if let i = channels.lastIndex(where: { $0.eventLoop === eventLoop }) { return channels.remove(at: i) }
            return nil
        }
    }

    /// Keeps `channel` for the next request to `address` (closed when there are enough).
    fileprivate func keep(_ channel: any Channel, for address: Address) {
        let kept = idle.withLock { idle in
            var channels = idle[address, default: []]
            channels.removeAll { !$0.isActive }
            guard channels.count < Self.maxIdlePerNode else { return false }
            channels.append(channel)
            idle[address] = channels
            return true
        }
        if !kept { channel.close(promise: nil) }
    }

    fileprivate func forget(_ channel: any Channel, for address: Address) {
        idle.withLock { idle in idle[address]?.removeAll { $0 === channel } }
    }

    /// Closes every kept connection.
    func shutdown() {
        let channels = idle.withLock { idle in
            defer { idle.removeAll() }
            return idle.values.flatMap { $0 }
        }
        for channel in channels { channel.close(promise: nil) }
    }
}

enum RelayError: Error, CustomStringConvertible {
    case noAnswer, cancelled, connectionClosed, stalled
    var description: String {
        switch self {
        case .noAnswer: "the owner did not answer in time"
        case .cancelled: "the relay was cancelled"
        case .connectionClosed: "the owner closed the connection"
        case .stalled: "the owner's body stalled"
        }
    }
}

/// One relayed request's state, touched only on its event loop.
final class RelayExchange: @unchecked Sendable {
    let sink: any ResponseBodySink
    let eventLoop: any EventLoop
    let head: EventLoopPromise<HTTPResponseHead>
    private(set) var headDelivered = false
    private(set) var ended = false
    /// The connection carrying it, once there is one.
    var channel: (any Channel)?
    /// Set while the connection is a kept one: what to do when it closes before any answer.
    var onEarlyClose: (() -> Void)?

    init(sink: any ResponseBodySink, eventLoop: any EventLoop) {
        self.sink = sink
        self.eventLoop = eventLoop
        self.head = eventLoop.makePromise(of: HTTPResponseHead.self)
    }

    func deliver(_ head: HTTPResponseHead) {
        guard !ended else { return }
        headDelivered = true
        onEarlyClose = nil
        self.head.succeed(head)
    }

    /// The body ended (`error` nil: completely).
    func finish(_ error: (any Error)?) {
        guard !ended else { return }
        ended = true
        if !headDelivered { head.fail(error ?? RelayError.connectionClosed) }
        sink.finish(error)
    }

    /// Ends the exchange early: its connection is closed (never kept).
    func abort(_ error: any Error) {
        guard !ended else { return }
        let channel = self.channel
        finish(error)
        channel?.close(promise: nil)
    }
}

/// The last handler of a connection to another node: hands the answer to the current exchange,
/// holds further reads while the exchange's sink is full, and keeps the connection for the next
/// request when the answer ended cleanly.
private final class RelayHandler: ChannelDuplexHandler, @unchecked Sendable {
    // Touched only on the channel's event loop.
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    let pool: OwnerConnections
    let address: OwnerConnections.Address
    private var exchange: RelayExchange?
    private var keepAlive = true
    /// The sink's answer to the last part handed is pending: reads wait for it.
    private var full = false
    /// Counts parts handed (and answers ended), so a late answer about an earlier part is ignored.
    private var handed = 0
    private var readPending = false
    private var failure: (any Error)?

    init(pool: OwnerConnections, address: OwnerConnections.Address) {
        self.pool = pool
        self.address = address
    }

    /// Takes `exchange` for this connection; false when it is busy.
    func begin(_ exchange: RelayExchange, on channel: any Channel) -> Bool {
        guard self.exchange == nil, !exchange.ended else { return false }
        self.exchange = exchange
        exchange.channel = channel
        keepAlive = true
        return true
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let exchange else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if head.status.code < 200 { return }  // 100 Continue and the like
            keepAlive = head.isKeepAlive
            exchange.deliver(head)
        case .body(let part):
            guard !exchange.ended else { return }
            handed += 1
            let this = handed
            full = true
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            exchange.sink.receive(part, on: context.eventLoop).whenComplete { [self] result in
                guard this == handed else { return }  // a later part's answer decides
                switch result {
                case .success: readOn(loopBound.value)
                case .failure: exchange.abort(RelayError.cancelled)  // the client went away
                }
            }
        case .end:
            self.exchange = nil
            let clean = !exchange.ended
            exchange.finish(nil)
            if clean, keepAlive, context.channel.isActive {
                pool.keep(context.channel, for: address)
            } else {
                context.close(promise: nil)
            }
            // What the sink still holds is the ended exchange's: the connection reads on.
            handed += 1
            readOn(context)
        }
    }

    /// The sink has room: a read held back meanwhile is due now.
    private func readOn(_ context: ChannelHandlerContext) {
        full = false
        if readPending {
            readPending = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if full { readPending = true } else { context.read() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            // Quiet while the client is slow is fine; quiet while it waits is a stalled owner.
            if let exchange {
                if !full { exchange.abort(RelayError.stalled) }
            } else {
                context.close(promise: nil)  // a kept connection nobody used for a while
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        pool.forget(context.channel, for: address)
        if let exchange {
            self.exchange = nil
            if !exchange.headDelivered, failure == nil || failure is IOError, let retry = exchange.onEarlyClose {
                exchange.channel = nil
                retry()
            } else {
                exchange.finish(failure ?? RelayError.connectionClosed)
            }
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if failure == nil { failure = error }
        context.close(promise: nil)
    }
}
