import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing
import TollgateUpstream

@testable import TollgateServer

/// The relay's own connections to other nodes, against a small NIO server that misbehaves on
/// request: bodies in many parts, connections closed after an answer or in the middle of one,
/// answers that never come. (A connection that stops reading shows as a hang: hence the limit.)
@Suite(.timeLimit(.minutes(1)))
struct OwnerConnectionsTests {
    /// What the fake owner does with a request.
    enum Behaviour: Sendable {
        /// 200 with `size` bytes (byte i is i % 251), in 64 KiB writes.
        case body(size: Int)
        /// The same, then the connection closes (no keep-alive announced).
        case bodyThenClose(size: Int)
        /// Headers for `size` bytes, `sent` of them, then the connection closes.
        case breakOff(size: Int, sent: Int)
        /// Reads the request and never answers.
        case silent
        /// Closes the connection on the request (an owner that closed it meanwhile), then answers
        /// the next ones with `size` bytes.
        case dropOnceThen(size: Int)
    }

    /// A one-loop HTTP/1.1 server answering every request by `behaviour`; counts connections and
    /// requests.
    final class FakeOwner: Sendable {
        let behaviour: Mutex<Behaviour>
        let connections = Atomic<Int>(0)
        let requests = Mutex<[HTTPRequestHead]>([])
        let channel: any Channel
        /// Its own loop: the client's loops stay free of the owner's work.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var port: Int { channel.localAddress!.port! }

        init(_ behaviour: Behaviour) async throws {
            let b = Mutex(behaviour)
            self.behaviour = b
            let box = Box()
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { child in
                    child.eventLoop.makeCompletedFuture {
                        try child.pipeline.syncOperations.configureHTTPServerPipeline()
                        try child.pipeline.syncOperations.addHandler(OwnerHandler(owner: box))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            box.owner = self
        }

        func close() async {
            try? await channel.close()
            try? await group.shutdownGracefully()
        }
    }

    /// Lets the handler reach its server after init.
    final class Box: @unchecked Sendable {
        weak var owner: FakeOwner?
    }

    final class OwnerHandler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let box: Box
        init(owner: Box) { box = owner }

        func channelActive(context: ChannelHandlerContext) {
            box.owner?.connections.add(1, ordering: .relaxed)
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .head(let head) = unwrapInboundIn(data), let owner = box.owner else { return }
            owner.requests.withLock { $0.append(head) }
            let behaviour = owner.behaviour.withLock { $0 }
            switch behaviour {
            case .silent:
                return
            case .dropOnceThen(let size):
                owner.behaviour.withLock { $0 = .body(size: size) }
                context.close(promise: nil)
            case .body(let size):
                answer(context, size: size, sending: size, keepAlive: true)
            case .bodyThenClose(let size):
                answer(context, size: size, sending: size, keepAlive: false)
            case .breakOff(let size, let sent):
                answer(context, size: size, sending: sent, keepAlive: true)
            }
        }

        private func answer(_ context: ChannelHandlerContext, size: Int, sending: Int, keepAlive: Bool) {
            var fields = HTTPHeaders([("Content-Length", "\(size)")])
            if !keepAlive { fields.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: fields))), promise: nil)
            var offset = 0
            while offset < sending {
                let n = min(64 << 10, sending - offset)
                // 64 KiB starting at offset: the pattern repeats every 251 bytes
                let buffer = OwnerConnectionsTests.pattern.getSlice(at: offset % 251, length: n)!
                context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
                offset += n
            }
            if sending < size {
                context.flush()
                context.close(promise: nil)
                return
            }
            let end = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive { end.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) } }
        }
    }

    /// 251 + 64 KiB bytes of the pattern, sliced by the fake owner (made once: the owner's loop
    /// must not spend seconds building bodies in a debug build).
    static let pattern = ByteBuffer(bytes: (0..<(251 + (64 << 10))).map { UInt8($0 % 251) })

    /// Whether `bytes` are the pattern's first `count` (a Bool: Swift Testing would diff two
    /// megabyte arrays for minutes).
    static func isPattern(_ bytes: [UInt8], count: Int) -> Bool {
        bytes.count == count && bytes.indices.allSatisfy { bytes[$0] == UInt8($0 % 251) }
    }

    /// Runs one GET through `connections`; the head and the body's bytes (or the error taking it).
    static func fetch(_ connections: OwnerConnections, port: Int, target: String = "/v2/x/blobs/y", delayed: Bool = false)
        async -> (head: HTTPResponseHead?, body: [UInt8], error: (any Error)?)
    {
        let pipe = ChunkPipe(limit: 256 << 10)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let exchange = connections.get(
            .init(host: "127.0.0.1", port: port), target: target, headers: HTTPHeaders([("X-Test", "1")]), on: loop, sink: pipe)
        guard let head = try? await exchange.head.get() else { return (nil, [], nil) }
        var body: [UInt8] = []
        do {
            while let parts = try await pipe.take() {
                for part in parts { body += part.readableBytesView }
                if delayed { try await Task.sleep(for: .milliseconds(1)) }  // a slow client: the pipe fills
            }
        } catch {
            return (head, body, error)
        }
        return (head, body, nil)
    }

    @Test func addressesOfPlainHTTPNodesOnly() {
        let a = OwnerConnections.address(of: "http://10.0.0.5:5000")
        #expect(a?.address == .init(host: "10.0.0.5", port: 5000) && a?.prefix == "")
        let b = OwnerConnections.address(of: "http://tollgate-1.tollgate.svc/mirror/")
        #expect(b?.address == .init(host: "tollgate-1.tollgate.svc", port: 80) && b?.prefix == "/mirror")
        let c = OwnerConnections.address(of: "http://[::1]:8080")
        #expect(c?.address == .init(host: "::1", port: 8080))
        #expect(OwnerConnections.address(of: "https://10.0.0.5:5000") == nil)
        #expect(OwnerConnections.address(of: "http://user:pw@10.0.0.5") == nil)
        #expect(OwnerConnections.address(of: "http://") == nil)
        #expect(OwnerConnections.address(of: "not a url") == nil)
    }

    @Test func relaysALargeBodyAndKeepsTheConnection() async throws {
        let owner = try await FakeOwner(.body(size: 5 << 20))
        let connections = OwnerConnections(connectTimeout: .seconds(1), answerTimeout: .seconds(5))
        defer { connections.shutdown() }
        for _ in 0..<3 {
            let (head, body, error) = await Self.fetch(connections, port: owner.port, delayed: true)
            #expect(head?.status == .ok && error == nil)
            #expect(Self.isPattern(body, count: 5 << 20))
        }
        // One loop here (`next()` of a two-loop group alternates): at most one connection per loop.
        #expect(owner.connections.load(ordering: .relaxed) <= 2)
        let sent = owner.requests.withLock { $0 }
        #expect(sent.count == 3)
        #expect(sent.allSatisfy { $0.uri == "/v2/x/blobs/y" && $0.headers["X-Test"] == ["1"] })
        #expect(sent.allSatisfy { $0.headers["Host"] == ["127.0.0.1:\(owner.port)"] })
        await owner.close()
    }

    @Test func aConnectionTheOwnerClosesIsNotReused() async throws {
        let owner = try await FakeOwner(.bodyThenClose(size: 1000))
        let connections = OwnerConnections(connectTimeout: .seconds(1), answerTimeout: .seconds(5))
        defer { connections.shutdown() }
        for _ in 0..<3 {
            let (head, body, error) = await Self.fetch(connections, port: owner.port)
            #expect(head?.status == .ok && error == nil && Self.isPattern(body, count: 1000))
        }
        #expect(owner.connections.load(ordering: .relaxed) == 3)
        await owner.close()
    }

    @Test func aBodyThatBreaksOffIsAnError() async throws {
        let owner = try await FakeOwner(.breakOff(size: 1 << 20, sent: 300_000))
        let connections = OwnerConnections(connectTimeout: .seconds(1), answerTimeout: .seconds(5))
        defer { connections.shutdown() }
        let (head, body, error) = await Self.fetch(connections, port: owner.port)
        #expect(head?.status == .ok)
        #expect(error != nil)
        #expect(body.count <= 300_000 && Self.isPattern(body, count: body.count))
        // The broken connection was not kept: the next request opens another.
        owner.behaviour.withLock { $0 = .body(size: 10) }
        let next = await Self.fetch(connections, port: owner.port)
        #expect(Self.isPattern(next.body, count: 10) && next.error == nil)
        #expect(owner.connections.load(ordering: .relaxed) == 2)
        await owner.close()
    }

    @Test func anOwnerThatDoesNotAnswerTimesOut() async throws {
        let owner = try await FakeOwner(.silent)
        let connections = OwnerConnections(connectTimeout: .seconds(1), answerTimeout: .milliseconds(300))
        defer { connections.shutdown() }
        let started = ContinuousClock.now
        let (head, _, _) = await Self.fetch(connections, port: owner.port)
        #expect(head == nil)
        #expect(ContinuousClock.now - started < .seconds(3))
        await owner.close()
    }

    @Test func aRefusedConnectionFailsAtOnce() async throws {
        let owner = try await FakeOwner(.silent)
        let port = owner.port
        await owner.close()
        let connections = OwnerConnections(connectTimeout: .seconds(1), answerTimeout: .seconds(5))
        defer { connections.shutdown() }
        let started = ContinuousClock.now
        let (head, _, _) = await Self.fetch(connections, port: port)
        #expect(head == nil)
        #expect(ContinuousClock.now - started < .seconds(1))
    }

    @Test func aKeptConnectionClosedMeanwhileIsReplacedOnce() async throws {
        let owner = try await FakeOwner(.body(size: 100))
        let connections = OwnerConnections(connectTimeout: .seconds(1), answerTimeout: .seconds(5))
        defer { connections.shutdown() }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        func fetch() async throws -> Int? {
            let pipe = ChunkPipe(limit: 1 << 20)
            let exchange = connections.get(
                .init(host: "127.0.0.1", port: owner.port), target: "/", headers: [:], on: loop, sink: pipe)
            guard (try? await exchange.head.get())?.status == .ok else { return nil }
            var n = 0
            while let parts = try await pipe.take() { n += parts.reduce(0) { $0 + $1.readableBytes } }
            return n
        }
        #expect(try await fetch() == 100)
        // The owner closes the kept connection as the request arrives: asked again on a new one.
        owner.behaviour.withLock { $0 = .dropOnceThen(size: 100) }
        #expect(try await fetch() == 100)
        #expect(owner.connections.load(ordering: .relaxed) == 2)
        // A new connection closed the same way is an answer: none.
        connections.shutdown()
        try await Task.sleep(for: .milliseconds(20))
        owner.behaviour.withLock { $0 = .dropOnceThen(size: 100) }
        #expect(try await fetch() == nil)
        await owner.close()
    }

    /// Takes each part 5 ms late: the connection's reads are held meanwhile, and the answer's end
    /// arrives (read with its last parts) while the sink still holds a part.
    final class SlowSink: ResponseBodySink, @unchecked Sendable {
        let bytes = Mutex(0)
        let done = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let finished = Mutex(false)
        func receive(_ part: ByteBuffer, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
            bytes.withLock { $0 += part.readableBytes }
            return eventLoop.scheduleTask(in: .milliseconds(5)) {}.futureResult
        }
        func finish(_ error: (any Error)?) {
            let c = done.withLock { c in
                finished.withLock { $0 = true }
                defer { c = nil }
                return c
            }
            c?.resume()
        }
        func wait() async {
            await withCheckedContinuation { c in
                let now = done.withLock { d in
                    if finished.withLock({ $0 }) { return true }
                    d = c
                    return false
                }
                if now { c.resume() }
            }
        }
    }

    @Test func aKeptConnectionGoesOnReadingAfterASlowSink() async throws {
        let owner = try await FakeOwner(.body(size: 300_000))
        let connections = OwnerConnections(connectTimeout: .seconds(1), answerTimeout: .seconds(2))
        defer { connections.shutdown() }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        for round in 0..<3 {
            let sink = SlowSink()
            let exchange = connections.get(
                .init(host: "127.0.0.1", port: owner.port), target: "/", headers: [:], on: loop, sink: sink)
            let status = try? await exchange.head.get().status
            #expect(status == .ok, "round \(round)")
            guard status == .ok else { break }
            await sink.wait()
            #expect(sink.bytes.withLock { $0 } == 300_000)
        }
        #expect(owner.connections.load(ordering: .relaxed) == 1)
        await owner.close()
    }

    @Test func aClientThatGoesAwayClosesTheConnection() async throws {
        let owner = try await FakeOwner(.body(size: 8 << 20))
        let connections = OwnerConnections(connectTimeout: .seconds(1), answerTimeout: .seconds(5))
        defer { connections.shutdown() }
        let pipe = ChunkPipe(limit: 256 << 10)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let exchange = connections.get(.init(host: "127.0.0.1", port: owner.port), target: "/", headers: [:], on: loop, sink: pipe)
        #expect(try await exchange.head.get().status == .ok)
        _ = try await pipe.take()
        pipe.close()
        exchange.cancel()
        try await Task.sleep(for: .milliseconds(50))
        // Not kept half-read: the next request needs a new connection.
        owner.behaviour.withLock { $0 = .body(size: 10) }
        let next = await Self.fetch(connections, port: owner.port)
        #expect(Self.isPattern(next.body, count: 10))
        #expect(owner.connections.load(ordering: .relaxed) == 2)
        await owner.close()
    }
}
