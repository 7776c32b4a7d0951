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
                Counts take a whole number, byte limits a size (500MB, 20GiB); either takes `unlimited`. \
                --allow/--deny take globs over <upstream>/<repository> (docker.io/library/*, ghcr.io/org/**); \
                given, they replace the user's allow (or deny) list, which otherwise is auth.default_policy's. \
                --clear-overrides first returns the user to the default plan, limits and policy, then \
                applies the other options given. --role admin opens the web console's admin pages to the \
                user. --expires sets the account's last day (UTC): after it, its logins, tokens and \
                console sessions stop working with "account expired on …"; --expires never removes it.
                """)
        @OptionGroup var options: ConfigOption
        @Argument(help: "User name.") var name: String
        @Option(help: "Plan name (from `plans:` or built in).") var plan: String?
        // ArgumentParser needs one declared option per limit kind; their names and help, the
        // parsing, errors and summary come from the kinds' descriptions (`LimitKind.about`), and
        // `option(_:)` says which option is which kind.
        @Option(name: .customLong(LimitKind.requestsPerMinute.about.flag), help: .init(LimitKind.requestsPerMinute.about.help))
        var requestsPerMinute: String?
        @Option(name: .customLong(LimitKind.pullsPer6h.about.flag), help: .init(LimitKind.pullsPer6h.about.help))
        var pullsPer6h: String?
        @Option(name: .customLong(LimitKind.bytesPerDay.about.flag), help: .init(LimitKind.bytesPerDay.about.help))
        var bytesPerDay: String?
        @Option(name: .customLong(LimitKind.bytesPerMonth.about.flag), help: .init(LimitKind.bytesPerMonth.about.help))
        var bytesPerMonth: String?
        @Option(name: .customLong(LimitKind.concurrentTransfers.about.flag), help: .init(LimitKind.concurrentTransfers.about.help))
        var concurrentTransfers: String?
        @Option(help: "Allow pulls of <upstream>/<repository> matching this glob (repeatable).") var allow: [String] = []
        @Option(help: "Deny pulls matching this glob (repeatable; deny wins).") var deny: [String] = []
        @Flag(help: "Remove the plan choice, limit overrides and policy first.") var clearOverrides = false
        @Option(help: "admin or user.") var role: String?
        @Option(help: "The account's last day, YYYY-MM-DD (UTC), or never.") var expires: String?

        func run() async throws {
            try await options.runAsync { config in
                let admin = try await OpenedStorage.admin(config)
                try await admin.requireUser(name)
                try admin.checkPlan(plan)
                var overrides: [LimitKind: Int64?] = [:]
                for kind in LimitKind.allCases {
                    guard let text = option(kind) else { continue }
                    guard let value = kind.about.unit.parseOverride(text) else {
                        throw CLIError("--\(kind.about.flag): expected \(kind.about.unit.expected) or unlimited, got \(text)")
                    }
                    overrides[kind] = value
                }
                let view = try await admin.setUserSettings(
                    name,
                    .init(
                        plan: plan, overrides: overrides, allow: allow, deny: deny, clearFirst: clearOverrides, role: role,
                        expires: expires))
                let effective = view.effective
                let summary = LimitKind.allCases.map { kind in
                    "\(kind.key)=\(effective.limits[kind].map(kind.about.unit.format) ?? "unlimited")"
                }
                let list = { (l: [String]) in l.isEmpty ? "(none)" : l.joined(separator: " ") }
                let policy = "allow \(list(view.allow)); deny \(list(view.deny))"
                // The account part only when there is one (scripts read the line as it was before roles).
                var account = ""
                if let role = view.record.role { account += "; role \(role)" }
                if let day = view.record.expires { account += "; expires after \(day)" }
                print("\(name): plan \(effective.plan); " + summary.joined(separator: ", ") + "; " + policy + account)
            }
        }

        /// What was given for a limit kind's option.
        func option(_ kind: LimitKind) -> String? {
            switch kind {
            case .requestsPerMinute: requestsPerMinute
            case .pullsPer6h: pullsPer6h
            case .bytesPerDay: bytesPerDay
            case .bytesPerMonth: bytesPerMonth
            case .concurrentTransfers: concurrentTransfers
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
                let lines = try await OpenedStorage.admin(config).usageReport(only: name, since: from, now: now)
                print(json ? UsageReport.json(lines, since: from) : UsageReport.table(lines), terminator: "")
            }
        }
    }
}
