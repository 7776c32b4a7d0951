import ArgumentParser
import Foundation
import TollgateAuth
import TollgateServer
import TollgateStorage

extension Tollgate {
    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Personal access tokens: secrets that work as a user's password (for CI systems).",
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
            static let configuration = CommandConfiguration(abstract: "List a user's tokens (never their secrets).")
            @OptionGroup var options: ConfigOption
            @Argument(help: "User name.") var name: String
            @Flag(help: "JSON output: [{\"id\",\"label\",\"created\",\"expires\"}].") var json = false

            func run() async throws {
                try await options.runAsync { config in
                    let records = try await openStore(config).credentials(user: name, kind: .personal)
                    let f = ISO8601DateFormatter()
                    if json {
                        let items = records.map { r in
                            "{\"id\":\(jsonString(r.id)),\"label\":\(jsonString(r.label)),\"created\":\(jsonString(f.string(from: r.created))),\"expires\":\(r.expires.map { jsonString(f.string(from: $0)) } ?? "null")}"
                        }
                        print("[" + items.joined(separator: ",") + "]")
                    } else {
                        for r in records {
                            print("\(r.id)\t\(f.string(from: r.created))\t\(r.expires.map { f.string(from: $0) } ?? "never")\t\(r.label)")
                        }
                    }
                }
            }
        }

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Revoke a token by its id.")
            @OptionGroup var options: ConfigOption
            @Argument(help: "Token id (from `token list`).") var id: String

            func run() async throws {
                try await options.runAsync { config in
                    guard try await openStore(config).deleteCredential(id: id) else { throw CLIError("no token \(id)") }
                    print("revoked token \(id)")
                }
            }
        }
    }
}
