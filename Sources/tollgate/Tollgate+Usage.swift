import ArgumentParser
import Foundation
import TollgateAuth
import TollgateLimits
import TollgateServer

extension Tollgate.User {
    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Set a user's plan, limit overrides and access policy (a running server applies them within a second).",
            discussion: """
                Counts take a whole number, byte limits a size (500MB, 20GiB); either takes `unlimited`.
                --allow/--deny take globs over <upstream>/<repository> (docker.io/library/*, ghcr.io/org/**);
                given, they replace the user's allow (or deny) list, which otherwise is auth.default_policy's.
                --clear-overrides first returns the user to the default plan, limits and policy, then
                applies the other options given.
                """)
        @OptionGroup var options: ConfigOption
        @Argument(help: "User name.") var name: String
        @Option(help: "Plan name (from `plans:` or built in).") var plan: String?
        @Option(help: "Requests per minute (token bucket).") var requestsPerMinute: String?
        @Option(name: .customLong("pulls-per-6h"), help: "Manifest GETs per 6-hour window.") var pullsPer6h: String?
        @Option(help: "Blob bytes per UTC day.") var bytesPerDay: String?
        @Option(help: "Blob bytes per UTC month.") var bytesPerMonth: String?
        @Option(help: "Simultaneous blob downloads.") var concurrentTransfers: String?
        @Option(help: "Allow pulls of <upstream>/<repository> matching this glob (repeatable).") var allow: [String] = []
        @Option(help: "Deny pulls matching this glob (repeatable; deny wins).") var deny: [String] = []
        @Flag(help: "Remove the plan choice, limit overrides and policy first.") var clearOverrides = false

        func run() async throws {
            try await options.runAsync { config in
                let admin = try EmbeddedStorage.admin(config)
                try await admin.requireUser(name)
                let given: [(LimitKind, String?)] = [
                    (.requestsPerMinute, requestsPerMinute), (.pullsPer6h, pullsPer6h), (.bytesPerDay, bytesPerDay),
                    (.bytesPerMonth, bytesPerMonth), (.concurrentTransfers, concurrentTransfers),
                ]
                var overrides: [LimitKind: Int64?] = [:]
                for case (let kind, let text?) in given {
                    if text == "unlimited" {
                        overrides[kind] = .some(nil)
                    } else if let n = ConfigValues.limit(text, kind: kind) {
                        overrides[kind] = .some(n)
                    } else {
                        let what = kind.isSize ? "a size such as 500MB or 20GiB" : "a whole number ≥ 0"
                        throw CLIError("--\(kind.rawValue.replacingOccurrences(of: "_", with: "-")): expected \(what) or unlimited, got \(text)")
                    }
                }
                let view = try await admin.setUserSettings(
                    name,
                    .init(plan: plan, overrides: overrides, allow: allow, deny: deny, clearFirst: clearOverrides))
                let effective = view.effective
                let summary = LimitKind.allCases.map { kind in
                    "\(kind.rawValue)=\(effective.limits[kind].map { kind.isSize ? ByteCount.format($0) : String($0) } ?? "unlimited")"
                }
                let list = { (l: [String]) in l.isEmpty ? "(none)" : l.joined(separator: " ") }
                let policy = "allow \(list(view.allow)); deny \(list(view.deny))"
                print("\(name): plan \(effective.plan); " + summary.joined(separator: ", ") + "; " + policy)
            }
        }
    }
}

extension Tollgate {
    struct Usage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show usage per user: requests, pulls, bytes sent, and how much of each limit is used.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "Only this user.") var name: String?
        @Option(help: "From this long ago (7d, 24h) or this date (YYYY-MM-DD), UTC days.") var since = "30d"
        @Flag(help: "JSON output: [{user, plan, requests, pulls, bytes_sent, cache_bytes, upstream_bytes, limits, current, since}].")
        var json = false

        func run() async throws {
            try await options.runAsync { config in
                let now = Int64(Date().timeIntervalSince1970)
                guard let from = UsageReport.firstDay(since, now: now) else {
                    throw CLIError("--since: expected a duration such as 7d or a date such as 2026-11-01, got \(since)")
                }
                let admin = try EmbeddedStorage.admin(config)
                let users = (try? await admin.listUsers().map(\.name)) ?? []
                let lines = try await UsageReport.lines(
                    config: config, stores: admin.stores, users: users, only: name, since: from, now: now)
                // A removed user's history goes with them (`user del`); a name never seen is an error.
                if let name, !users.contains(name), lines.allSatisfy({ $0.total.requests == 0 }) {
                    throw CLIError("no user \(name) and no usage recorded for that name")
                }
                print(json ? UsageReport.json(lines, since: from) : UsageReport.table(lines), terminator: "")
            }
        }
    }
}
