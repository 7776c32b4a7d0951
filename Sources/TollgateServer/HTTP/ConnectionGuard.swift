#if canImport(Glibc)
import Glibc
#endif
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization
import TollgateLimits

/// Open connections, in total and per client address (IPv6 grouped per /64, as the limits do).
/// A connection above either cap is refused as soon as it is accepted.
final class ConnectionCounter: Sendable {
    let maxTotal: Int
    /// 0: no per-address cap.
    let maxPerClient: Int
    private struct Counts {
        var total = 0
        var byClient: [String: Int] = [:]
    }
    private let counts = Mutex(Counts())

    init(maxTotal: Int, maxPerClient: Int) {
        self.maxTotal = maxTotal
        self.maxPerClient = maxPerClient
    }

    /// The configured total, or what the open-file limit leaves after a reserve for the storage,
    /// the database, upstream connections and logs.
    static func defaultTotal(reserve: Int = 256) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 16384 }
        let soft = limit.rlim_cur >= UInt64(Int32.max) ? 1 << 20 : Int(limit.rlim_cur)  // RLIM_INFINITY too
        return max(16, soft - min(reserve, soft / 2))
    }

    /// Counts a new connection from `client`, or says why it can't be had.
    func open(_ client: String) -> String? {
        counts.withLock { c in
            if c.total >= maxTotal { return "the mirror has \(maxTotal) open connections, its maximum" }
            if maxPerClient > 0, c.byClient[client, default: 0] >= maxPerClient {
                return "your address has \(maxPerClient) open connections, the maximum per client"
            }
            c.total += 1
            c.byClient[client, default: 0] += 1
            return nil
        }
    }

    func close(_ client: String) {
        counts.withLock { c in
            c.total -= 1
            let n = c.byClient[client, default: 1] - 1
            c.byClient[client] = n > 0 ? n : nil
        }
    }

    var open: Int { counts.withLock { $0.total } }
}

/// First handler of every accepted connection: counts it against the `ConnectionCounter`, and
/// refuses it above a cap (plain HTTP: a 503 with the registry's JSON error, then close; TLS:
/// close, since no handshake has happened).
final class ConnectionGuardHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    let counter: ConnectionCounter
    let plaintext: Bool
    let logger: Logger
    private var client: String?

    init(counter: ConnectionCounter, plaintext: Bool, logger: Logger) {
        self.counter = counter
        self.plaintext = plaintext
        self.logger = logger
    }

    // The handler is added before the channel is registered: act once it is active.
    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if client == nil, !refused { admit(context) }
        context.fireChannelActive()
    }

    private var refused = false

    private func admit(_ context: ChannelHandlerContext) {
        let address = AddressGroup(address: context.channel.remoteAddress?.ipAddress).value
        if let refusal = counter.open(address) {
            refused = true
            logger.notice("connection refused", metadata: ["client": "\(address)", "reason": "\(refusal)"])
            if plaintext {
                let body = "{\"errors\":[{\"code\":\"TOOMANYREQUESTS\",\"message\":\"\(refusal); try again shortly\"}]}"
                var head = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n"
                head += "Content-Length: \(body.utf8.count)\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
                context.writeAndFlush(NIOAny(ByteBuffer(string: head + body)), promise: nil)
            }
            context.close(promise: nil)
            return
        }
        client = address
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if let client { counter.close(client) }
        client = nil
    }
}

/// Bounds how long a connection may sit without making progress, on the decoded HTTP parts of
/// HTTP/1.1 (and each HTTP/2 stream): the first request head must arrive within
/// `headerTimeout` of the connection (slowloris: a head trickled line by line never completes),
/// a request body must not stall for `bodyTimeout`, and a keep-alive connection with nothing in
/// progress is closed after `idleTimeout`. While a response is being written nothing is timed:
/// a transfer to a slow client is never cut here.
///
/// Requests only move a deadline (no timer per request: tens of thousands a second would each
/// schedule and cancel one); one repeating check per connection, every quarter of the shortest
/// timeout, closes the connection once its deadline has passed.
final class ConnectionTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    struct Timeouts: Sendable {
        var header: TimeAmount
        var idle: TimeAmount
        var body: TimeAmount

        /// How often a connection's deadline is checked.
        var checkInterval: TimeAmount {
            max(.milliseconds(100), .nanoseconds(min(header.nanoseconds, idle.nanoseconds, body.nanoseconds) / 4))
        }
    }

    let timeouts: Timeouts
    /// Requests whose head arrived and whose response has not ended.
    private var inProgress = 0
    private var readingBody = false
    /// When the connection is closed unless it makes progress (nil: not timed).
    private var deadline: NIODeadline?
    private var check: RepeatedTask?

    init(timeouts: Timeouts) { self.timeouts = timeouts }

    func handlerAdded(context: ChannelHandlerContext) {
        deadline = context.eventLoop.now + timeouts.header
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        check = context.eventLoop.scheduleRepeatedTask(
            initialDelay: timeouts.checkInterval, delay: timeouts.checkInterval
        ) { _ in
            let (handler, context) = loopBound.value
            if let deadline = handler.deadline, deadline <= context.eventLoop.now { context.close(promise: nil) }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            inProgress += 1
            readingBody = true
            deadline = context.eventLoop.now + timeouts.body
        case .body:
            if readingBody { deadline = context.eventLoop.now + timeouts.body }
        case .end:
            readingBody = false
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            inProgress = max(0, inProgress - 1)
            if inProgress == 0, !readingBody { deadline = context.eventLoop.now + timeouts.idle }
        }
        context.write(data, promise: promise)
    }
}

/// A server child channel (plain HTTP/1.1, TLS, or HTTP/2 upgrade) with the `ConnectionGuardHandler`
/// in front of everything else.
struct GuardedChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let counter: ConnectionCounter
    let plaintext: Bool

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                ConnectionGuardHandler(counter: counter, plaintext: plaintext, logger: logger))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Base.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
