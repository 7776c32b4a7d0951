import ArgumentParser
import Foundation
import TollgateAuth
import TollgateServer

extension Tollgate {
    struct UpstreamCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "upstream",
            abstract: "A user's own credentials for an upstream registry (for their private repositories).",
            discussion: """
                Stored encrypted (AES-GCM, key in auth.token.key_dir/upstream-credentials.key); never \
                printed, logged or returned. Content fetched with them is visible to that user only.
                """,
            subcommands: [Login.self, Logout.self, List.self])

        struct Login: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Store USER's credentials for UPSTREAM (the password from standard input).")
            @OptionGroup var options: ConfigOption
            @Argument(help: "Tollgate user.") var user: String
            @Argument(help: "Upstream key from the configuration (docker.io, ghcr.io, …).") var upstream: String
            @Option(help: "User name at the upstream.") var username: String
            @Flag(help: "Read the password (or access token) from the first line of standard input.")
            var passwordStdin = false

            func run() async throws {
                try await options.runAsync { config in
                    let admin = try await OpenedStorage.admin(config)
                    try await admin.checkUpstreamLogin(user: user, upstream: upstream, username: username)
                    let password = try readPassword(stdin: passwordStdin)
                    try await admin.upstreamLogin(user: user, upstream: upstream, username: username, password: password)
                    print("stored \(user)'s credentials for \(upstream) (as \(username))")
                }
            }
        }

        struct Logout: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove USER's credentials for UPSTREAM.")
            @OptionGroup var options: ConfigOption
            @Argument(help: "Tollgate user.") var user: String
            @Argument(help: "Upstream key.") var upstream: String

            func run() async throws {
                try await options.runAsync { config in
                    try await OpenedStorage.admin(config).upstreamLogout(user: user, upstream: upstream)
                    print("removed \(user)'s credentials for \(upstream)")
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "List the upstreams USER has credentials for (user names only, never passwords).")
            @OptionGroup var options: ConfigOption
            @Argument(help: "Tollgate user.") var user: String
            @Flag(help: "JSON output: [{\"upstream\",\"username\",\"created\"}].") var json = false

            func run() async throws {
                try await options.runAsync { config in
                    let records = try await OpenedStorage.admin(config).upstreamLogins(user: user)
                    let f = ISO8601DateFormatter()
                    if json {
                        let items = records.map {
                            "{\"upstream\":\(jsonString($0.upstream)),\"username\":\(jsonString($0.username)),\"created\":\(jsonString(f.string(from: $0.created)))}"
                        }
                        print("[" + items.joined(separator: ",") + "]")
                    } else {
                        for r in records { print("\(r.upstream)\t\(r.username)\t\(f.string(from: r.created))") }
                    }
                }
            }
        }
    }
}
