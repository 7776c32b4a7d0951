import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import RegistryCore

/// A response from an upstream registry whose body is still to be read (or discarded).
public struct UpstreamResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: Body

    public enum Body: Sendable {
        case stream(HTTPClientResponse.Body)
        /// A 200 body is being delivered to the `ResponseBodySink` the request named; other
        /// statuses' bodies were dropped.
        case delivered
    }

    public var contentLength: Int64? { headers.first(name: "content-length").flatMap { Int64($0) } }
    public var digestHeader: Digest? {
        headers.first(name: "docker-content-digest").flatMap { try? Digest(parsing: $0) }
    }
    public var contentType: String? { headers.first(name: "content-type").map { MediaType.essence($0) } }

    /// Reads the whole body, refusing more than `limit` bytes.
    public func collect(upTo limit: Int) async throws -> ByteBuffer {
        guard case .stream(let body) = body else { return ByteBuffer() }
        return try await body.collect(upTo: limit)
    }

    /// Reads and drops the body so the connection can be reused.
    public func discard() async {
        guard case .stream(let body) = body else { return }
        do {
            for try await _ in body {}
        } catch {}
    }
}
