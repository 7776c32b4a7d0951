import Foundation
import Logging
import Synchronization

/// Process-wide logging: text (swift-log's stream format) or one JSON object per line, to stderr.
public enum LogSetup {
    public static func bootstrap(level: String, format: String) {
        let lvl = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                format == "json" ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = lvl
            return handler
        }
    }
}

/// `{"ts":…,"level":…,"label":…,"msg":…, metadata…}` per line.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    static let lock = Mutex(())

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        var object: [String: String] = [
            "ts": ISO8601DateFormatter().string(from: Date()), "level": event.level.rawValue,
            "label": label, "msg": "\(event.message)",
        ]
        for (k, v) in merged where object[k] == nil { object[k] = "\(v)" }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        Self.lock.withLock { _ in
            FileHandle.standardError.write(data + Data("\n".utf8))
        }
    }
}
