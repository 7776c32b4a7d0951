#if canImport(Glibc)
import Glibc
#endif
import Foundation
import RegistryCore
import ServiceLifecycle
import Synchronization

/// The access log: one line per request, written to stderr in batches. Formatting a swift-log
/// line and flushing stderr on every request cost 10–25 % of small-request throughput; here a
/// line is formatted by hand, appended to a buffer, and the buffer is written every 20 ms (or
/// at 64 KiB, or at shutdown).
final class AccessLog: Sendable {
    struct Entry {
        var method: String
        var target: String
        var status: Int
        var bytes: Int64
        var duration: Duration
        var upstream: String
        var cache: String
        var user: String
        /// Hummingbird's request id (also on every swift-log line logged for the request).
        var id: String
        /// Cluster mode: the node that forwarded the request here (it counted the caller's usage).
        var forwardedBy: String? = nil
        /// Cluster mode: the owner this node forwarded the request to (the bytes came from there).
        var forwardedTo: String? = nil
    }

    let json: Bool
    /// Cluster mode: this node's name, on every line.
    let node: String?
    private let buffer = Mutex<[UInt8]>([])
    /// The formatted timestamp of the current second.
    private let stamp = Mutex<(second: Int, text: String)>((-1, ""))
    static let flushSize = 64 << 10

    init(json: Bool, node: String? = nil) {
        self.json = json
        self.node = node
    }

    func record(_ e: Entry) {
        let duration = Self.milliseconds(e.duration)
        let line: String
        if json {
            line =
                "{\"ts\":\"\(timestamp())\",\"level\":\"info\",\"label\":\"tollgate.access\",\"msg\":\"access\",\"method\":\(JSONString.quote(e.method)),\"path\":\(JSONString.quote(e.target)),\"status\":\(e.status),\"bytes\":\(e.bytes),\"duration_ms\":\(duration),\"upstream\":\(JSONString.quote(e.upstream)),\"cache\":\(JSONString.quote(e.cache)),\"user\":\(JSONString.quote(e.user)),\"request_id\":\(JSONString.quote(e.id))\(node.map { ",\"node\":\(JSONString.quote($0))" } ?? "")\(e.forwardedBy.map { ",\"forwarded_by\":\(JSONString.quote($0))" } ?? "")\(e.forwardedTo.map { ",\"forwarded_to\":\(JSONString.quote($0))" } ?? "")}\n"
        } else {
            line =
                "\(timestamp()) info tollgate.access: access method=\(Self.printable(e.method)) path=\(Self.printable(e.target)) status=\(e.status) bytes=\(e.bytes) duration_ms=\(duration) upstream=\(e.upstream) cache=\(e.cache) user=\(Self.printable(e.user)) id=\(e.id)\(node.map { " node=\($0)" } ?? "")\(e.forwardedBy.map { " forwarded_by=\($0)" } ?? "")\(e.forwardedTo.map { " forwarded_to=\($0)" } ?? "")\n"
        }
        let full = buffer.withLock { b -> [UInt8]? in
            b.append(contentsOf: line.utf8)
            guard b.count >= Self.flushSize else { return nil }
            defer { b.removeAll(keepingCapacity: true) }
            return b
        }
        if let full { Self.writeOut(full) }
    }

    /// `12.34`: milliseconds with two decimals, without Foundation's `String(format:)` (which
    /// showed up in profiles of small requests).
    static func milliseconds(_ d: Duration) -> String {
        let (seconds, attoseconds) = d.components
        let hundredths = max(0, seconds * 100_000 + attoseconds / 10_000_000_000_000)  // 1/100 ms
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    func flush() {
        let pending = buffer.withLock { b -> [UInt8] in
            defer { b.removeAll(keepingCapacity: true) }
            return b
        }
        if !pending.isEmpty { Self.writeOut(pending) }
    }

    private func timestamp() -> String {
        let now = time(nil)
        return stamp.withLock { s in
            if s.second != now {
                var t = tm()
                var clock = now
                gmtime_r(&clock, &t)
                var chars = [CChar](repeating: 0, count: 32)
                let n = strftime(&chars, chars.count, "%Y-%m-%dT%H:%M:%S+0000", &t)
                s = (now, String(decoding: chars[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            return s.text
        }
    }

    /// Request targets, methods and user names are client input: escaped, spaces too (the
    /// text line is space-separated `key=value` fields).
    static func printable(_ s: String) -> String { LogText.escape(s, spaces: true) }

    private static func writeOut(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { p in
            var off = 0
            while off < p.count {
                let n = write(2, p.baseAddress! + off, p.count - off)
                if n <= 0 {
                    if n < 0, errno == EINTR { continue }
                    return
                }
                off += n
            }
        }
    }
}

/// Writes the access log's buffer out every 20 ms, and once more at shutdown.
struct AccessLogService: Service {
    let log: AccessLog

    func run() async {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .milliseconds(20))
            log.flush()
        }
        log.flush()
    }
}
