import ArgumentParser
import Foundation
import TollgateAuth
import TollgateServer

extension Tollgate {
    struct User: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Manage the users in the htpasswd file (auth.htpasswd).",
            subcommands: [
                Add.self, Del.self, Passwd.self, List.self, Disable.self, Enable.self, Set.self, Import.self, Export.self,
            ])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add a user (asks for the password twice on a terminal).")
            @OptionGroup var options: ConfigOption
            @Argument(help: "User name.") var name: String
            @Flag(help: "Read the password from the first line of standard input.") var passwordStdin = false
            @Option(help: "bcrypt cost (4…31).") var cost = 10

            func run() async throws {
                try await options.runAsync { config in
                    let admin = try await OpenedStorage.admin(config)
                    try await admin.checkNewUser(name)
                    try await admin.addUser(name, password: try readPassword(stdin: passwordStdin), cost: cost)
                    print("added user \(name)")
                }
            }
        }

        struct Del: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Remove a user and everything stored for them (tokens, logins, settings, usage, own-credential content).")
            @OptionGroup var options: ConfigOption
            @Argument(help: "User name.") var name: String

            func run() async throws {
                try await options.runAsync { config in
                    let tokens = try await OpenedStorage.admin(config).deleteUser(name)
                    print("removed user \(name)" + (tokens > 0 ? " and \(tokens) token(s)" : ""))
                }
            }
        }

        struct Passwd: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Set a user's password (ends the logins stored by `docker login`).")
            @OptionGroup var options: ConfigOption
            @Argument(help: "User name.") var name: String
            @Flag(help: "Read the password from the first line of standard input.") var passwordStdin = false
            @Option(help: "bcrypt cost (4…31).") var cost = 10

            func run() async throws {
                try await options.runAsync { config in
                    let admin = try await OpenedStorage.admin(config)
                    try await admin.requireUser(name)
                    try await admin.setPassword(name, password: try readPassword(stdin: passwordStdin), cost: cost)
                    print("password of \(name) changed")
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List users.")
            @OptionGroup var options: ConfigOption
            @Flag(help: "JSON output: [{\"name\",\"disabled\"}].") var json = false

            func run() async throws {
                try await options.runAsync { config in
                    let users = try await OpenedStorage.admin(config).listUsers()
                    if json {
                        let items = users.map { "{\"name\":\(jsonString($0.name)),\"disabled\":\($0.disabled)}" }
                        print("[" + items.joined(separator: ",") + "]")
                    } else {
                        for u in users { print(u.disabled ? "\(u.name)\tdisabled" : u.name) }
                    }
                }
            }
        }

        struct Disable: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Stop a user from logging in (tokens stop working).")
            @OptionGroup var options: ConfigOption
            @Argument(help: "User name.") var name: String
            func run() async throws { try await setDisabled(options, name, true) }
        }

        struct Enable: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Let a disabled user log in again.")
            @OptionGroup var options: ConfigOption
            @Argument(help: "User name.") var name: String
            func run() async throws { try await setDisabled(options, name, false) }
        }
    }
}

func setDisabled(_ options: ConfigOption, _ name: String, _ disabled: Bool) async throws {
    try await options.runAsync { config in
        try await OpenedStorage.admin(config).setDisabled(name, disabled)
        print("\(disabled ? "disabled" : "enabled") user \(name)")
    }
}

/// A password from stdin's first line, or asked twice on the terminal without echo.
func readPassword(stdin: Bool) throws -> String {
    let password: String
    if stdin {
        guard let line = readLine(strippingNewline: true) else { throw CLIError("no password on standard input") }
        password = line
    } else {
        guard isatty(0) == 1 else { throw CLIError("standard input is not a terminal; use --password-stdin") }
        let first = try prompt("Password: ")
        let second = try prompt("Repeat password: ")
        guard first == second else { throw CLIError("passwords do not match") }
        password = first
    }
    guard !password.isEmpty else { throw CLIError("empty password") }
    guard !password.contains("\u{0}") else { throw CLIError("password contains a NUL character") }
    return password
}

private func prompt(_ text: String) throws -> String {
    FileHandle.standardError.write(Data(text.utf8))
    var saved = termios()
    tcgetattr(0, &saved)
    var quiet = saved
    quiet.c_lflag &= ~tcflag_t(ECHO)
    tcsetattr(0, TCSANOW, &quiet)
    defer {
        tcsetattr(0, TCSANOW, &saved)
        FileHandle.standardError.write(Data("\n".utf8))
    }
    guard let line = readLine(strippingNewline: true) else { throw CLIError("no password entered") }
    return line
}

func jsonString(_ s: String) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: [s])) ?? Data("[\"\"]".utf8)
    return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
}
