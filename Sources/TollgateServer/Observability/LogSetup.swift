import Foundation
import Logging
import Synchronization

/// Process-wide logging: text (swift-log's stream format) or one JSON object per line, to stderr.
public enum LogSetup {
    public static func bootstrap(level: Logger.Level, format: LogFormat) {
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                format == .json ? JSONLogHandler(label: label) : TextLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// Log text that came from clients or upstreams (user names, paths, headers, client ids) must
/// never start a line of its own or move the terminal: control characters, the backslash and
/// Unicode line breaks are written as escapes (`\n`, `\x1b`, `\\`, `\u{2028}`).
public enum LogText {
    /// `spaces`: also escape spaces (`\x20`), for space-separated `key=value` fields.
    public static func escape(_ s: String, spaces: Bool = false) -> String {
        guard s.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f || $0 == 0x5c || $0 >= 0x80 || (spaces && $0 == 0x20) })
        else { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 8)
        for scalar in s.unicodeScalars {
            switch scalar.value {
            case 0x5c: out += "\\\\"
            case 0x0a: out += "\\n"
            case 0x0d: out += "\\r"
            case 0x09: out += "\\t"
            case 0x20 where spaces: out += "\\x20"
            case 0..<0x20, 0x7f: out += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            case 0x80..<0xa0, 0x2028, 0x2029: out += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// A handler's own metadata, an event's on top, and its error's.
protocol StderrLogHandler: LogHandler {
    var metadata: Logger.Metadata { get set }
}

extension StderrLogHandler {
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func merged(_ event: LogEvent) -> Logger.Metadata {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        if let error = event.error {
            merged["error.message"] = "\(error)"
            merged["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        return merged
    }

    /// One whole line to stderr: lines of concurrent events never interleave.
    func write(_ line: String) {
        stderrLock.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }
}

private let stderrLock = Mutex(())

/// swift-log's stream format (`<time> <level> <label>: <metadata> [<source>] <message>`) on
/// stderr, with the message and every metadata value escaped by `LogText`.
struct TextLogHandler: StderrLogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    func log(event: LogEvent) {
        let merged = merged(event)
        var line = "\(Self.timestamp()) \(event.level) \(label):"
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line += " \(LogText.escape(key, spaces: true))=\(LogText.escape("\(value)"))"
        }
        line += " [\(LogText.escape(event.source))] \(LogText.escape("\(event.message)"))\n"
        write(line)
    }

    private static func timestamp() -> String {
        var now = time(nil)
        var t = tm()
        localtime_r(&now, &t)
        var chars = [CChar](repeating: 0, count: 64)
        let n = strftime(&chars, chars.count, "%Y-%m-%dT%H:%M:%S%z", &t)
        return String(decoding: chars[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// `{"ts":…,"level":…,"label":…,"msg":…, metadata…}` per line.
struct JSONLogHandler: StderrLogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    func log(event: LogEvent) {
        let merged = merged(event)
        var object: [String: String] = [
            "ts": ISO8601DateFormatter().string(from: Date()), "level": event.level.rawValue,
            "label": label, "msg": "\(event.message)",
        ]
        for (k, v) in merged where object[k] == nil { object[k] = "\(v)" }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        write(String(decoding: data, as: UTF8.self) + "\n")
    }
}
