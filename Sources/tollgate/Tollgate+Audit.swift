import ArgumentParser
import Foundation
import RegistryCore
import TollgateAdmin
import TollgateServer

extension Tollgate {
    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the audit log: every change made with `tollgate` or in the web console, oldest first.",
            discussion: """
                A line per change: time (UTC), who (a user of the console, or cli), from which address \
                (local for the CLI), the action (user.add, user.set, token.create, …), the user it \
                concerns, and what changed. Never a password or a token's secret.
                """)
        @OptionGroup var options: ConfigOption
        @Option(help: "From this long ago (7d, 24h, 30m) or this day (YYYY-MM-DD, UTC).") var since = "7d"
        @Option(help: "At most this many (the newest).") var limit = 1000
        @Flag(help: "JSON output: [{at, actor, address, action, target, detail}].") var json = false

        func run() async throws {
            try await options.runAsync { config in
                guard let from = Self.start(since, now: Date()) else {
                    throw CLIError("--since: expected a duration such as 7d or 24h, or a day such as 2026-11-01, got \(since)")
                }
                guard (1...1_000_000).contains(limit) else { throw CLIError("--limit: between 1 and 1000000") }
                let entries = try await OpenedStorage.admin(config).auditLog(since: from, limit: limit)
                let time = ISO8601DateFormatter()
                if json {
                    let objects = entries.map { e in
                        [
                            "at": time.string(from: e.at), "actor": e.actor, "address": e.address, "action": e.action,
                            "target": e.target, "detail": e.detail,
                        ]
                    }
                    let data = try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys])
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    for e in entries {
                        let fields = [time.string(from: e.at), e.actor, e.address, e.action, e.target, e.detail]
                        // One line each: a control character in a field can't start a forged line.
                        print(fields.map { $0.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "?" : String($0) }.joined() }
                            .joined(separator: "\t"))
                    }
                }
            }
        }

        /// `7d` / `24h` / `30m` ago (`ConfigValues.duration`), or the start of a UTC day.
        static func start(_ text: String, now: Date) -> Date? {
            if let ago = ConfigValues.duration(text) { return now.addingTimeInterval(-ago.seconds) }
            guard let day = CivilDate(parsing: text), day.exists else { return nil }
            return Date(timeIntervalSince1970: Double(day.daysSinceEpoch * 86400))
        }
    }
}
