import ArgumentParser
import Foundation
import TollgateAuth
import TollgateServer
import TollgateStorage

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
                    guard try HtpasswdFile.read(config.auth.htpasswd).users[name] != nil else {
                        throw CLIError("no user \(name)")
                    }
                    guard label.utf8.count <= 200, !label.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f })
                    else { throw CLIError("--label: at most 200 bytes, no control characters") }
                    var until: Date?
                    if let expires {
                        guard let d = ConfigValues.duration(expires), d > .zero else {
                            throw CLIError("--expires: not a duration (examples: 30d, 12h)")
                        }
                        until = Date().addingTimeInterval(Double(d.components.seconds))
                    }
                    let secrets = SecretTokens(store: try openStore(config))
                    let (record, secret) = try await secrets.create(
                        user: name, kind: .personal, label: label, expires: until)
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
                    let store = try openStore(config)
                    let now = Date()
                    let tokens = try await store.credentials(user: name, kind: .personal)
                    let logins = try await store.credentials(user: name, kind: .refresh).filter {
                        $0.expires.map { $0 >= now } ?? true
                    }
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
                    guard id.utf8.count <= 64, try await openStore(config).deleteCredential(id: id) else {
                        throw CLIError("no token \(id.prefix(64))")
                    }
                    print("revoked token \(id)")
                }
            }
        }
    }
}
