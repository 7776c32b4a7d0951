import ArgumentParser
import Foundation
import TollgateAuth
import TollgateServer

extension Tollgate {
    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Personal access tokens (secrets that work as a user's password, for CI systems) and logins (refresh tokens).",
            subcommands: [Create.self, List.self, Revoke.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a token; its secret is printed once.")
            @OptionGroup var options: ConfigOption
            @Argument(help: "User the token belongs to.") var name: String
            @Option(help: "A note on what the token is for.") var label = ""
            @Option(help: "Lifetime, e.g. 90d (default: no expiry).") var expires: String?

            func run() async throws {
                try await options.runAsync { config in
                    let admin = try await OpenedStorage.admin(config)
                    try await admin.requireUser(name)
                    var lifetime: Duration?
                    if let expires {
                        // A duration of 0 passes here and is refused with the same message by the use case.
                        guard let d = ConfigValues.duration(expires) else {
                            throw CLIError("--expires: not a duration (examples: 30d, 12h)")
                        }
                        lifetime = d
                    }
                    let (record, secret) = try await admin.createToken(user: name, label: label, lifetime: lifetime)
                    print(secret)
                    FileHandle.standardError.write(
                        Data("token \(record.id) for \(name) created; the secret above is not shown again\n".utf8))
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "List a user's personal tokens, then their logins (refresh tokens); never their secrets.")
            @OptionGroup var options: ConfigOption
            @Argument(help: "User name.") var name: String
            @Flag(
                help: """
                    JSON output: [{"id","kind","label","created","expires"}], logins also with                     "client","origin" (the personal token's id, null for a password) and "last_used".
                    """)
            var json = false

            func run() async throws {
                try await options.runAsync { config in
                    let (tokens, logins) = try await OpenedStorage.admin(config).listTokens(user: name)
                    let f = ISO8601DateFormatter()
                    func date(_ d: Date?) -> String { d.map { jsonString(f.string(from: $0)) } ?? "null" }
                    if json {
                        let items = tokens.map { r in
                            "{\"id\":\(jsonString(r.id)),\"kind\":\"personal\",\"label\":\(jsonString(r.label)),\"created\":\(date(r.created)),\"expires\":\(date(r.expires))}"
                        } + logins.map { r in
                            "{\"id\":\(jsonString(r.id)),\"kind\":\"login\",\"label\":\(jsonString(r.label)),\"created\":\(date(r.created)),\"expires\":\(date(r.expires)),\"client\":\(r.client.map(jsonString) ?? "null"),\"origin\":\(r.origin.map(jsonString) ?? "null"),\"last_used\":\(date(r.lastUsed))}"
                        }
                        print("[" + items.joined(separator: ",") + "]")
                    } else {
                        for r in tokens {
                            print("\(r.id)\t\(f.string(from: r.created))\t\(r.expires.map { f.string(from: $0) } ?? "never")\t\(r.label)")
                        }
                        for r in logins {
                            let via = r.origin.map { "with token \($0)" } ?? "with password"
                            let used = r.lastUsed.map { "last used " + f.string(from: $0) } ?? "never used"
                            print(
                                "\(r.id)\t\(f.string(from: r.created))\t\(r.expires.map { f.string(from: $0) } ?? "never")\tlogin \(via), client \(r.client ?? "-"), \(used)")
                        }
                    }
                }
            }
        }

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Revoke a personal token (and the logins obtained with it) or a login, by id.")
            @OptionGroup var options: ConfigOption
            @Argument(help: "Token id (from `token list`).") var id: String

            func run() async throws {
                try await options.runAsync { config in
                    try await OpenedStorage.admin(config).revokeToken(id: id)
                    print("revoked token \(id)")
                }
            }
        }
    }
}
