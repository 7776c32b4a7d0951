import ArgumentParser
import Foundation
import TollgateServer

extension Tollgate.User {
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add the users of an htpasswd file (bcrypt, as `htpasswd -B` writes; all or nothing).",
            discussion: """
                Lines that are not bcrypt users (MD5, SHA, crypt, bad names, duplicates) refuse the whole \
                file, each named with its line number; so does a user that exists already, unless \
                --update replaces their password hash (and disabled mark, `!` before the hash).
                """)
        @OptionGroup var options: ConfigOption
        @Argument(help: "An htpasswd file (- for standard input).") var file: String
        @Flag(help: "Replace the password of users that exist already.") var update = false

        func run() async throws {
            try await options.runAsync { config in
                let text: String
                if file == "-" {
                    text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                } else {
                    guard let read = try? String(contentsOfFile: file, encoding: .utf8) else {
                        throw CLIError("cannot read \(file)")
                    }
                    text = read
                }
                let result = try await OpenedStorage.admin(config).importUsers(htpasswd: text, update: update)
                print(
                    "imported \(result.added.count) new user(s)" + (result.updated.isEmpty ? "" : ", updated \(result.updated.count)")
                        + ": " + (result.added + result.updated).joined(separator: " "))
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every user as an htpasswd file (bcrypt hashes; `!` marks a disabled user).")
        @OptionGroup var options: ConfigOption

        func run() async throws {
            try await options.runAsync { config in
                print(try await OpenedStorage.admin(config).exportUsers(), terminator: "")
            }
        }
    }
}
