import ArgumentParser
import Foundation
import Logging
import TollgatePostgres
import TollgateServer

extension Tollgate {
    struct DatabaseCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "db", abstract: "The cluster's shared PostgreSQL database (database: in the configuration).",
            subcommands: [Migrate.self, Import.self])

        struct Migrate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Bring the database's schema up to this version (serve does it too, under a lock).")
            @OptionGroup var options: ConfigOption

            func run() async throws {
                try await options.runAsync { config in
                    guard let database = config.database else {
                        throw CLIError("no database: in the configuration (the embedded engine migrates itself)")
                    }
                    var logger = Logger(label: "tollgate")
                    logger.logLevel = .error
                    let store = try await ClusterStorage.connect(database, logger: logger)
                    defer { store.shutdown() }
                    let version = try await store.schemaVersion()
                    print("database \(database.user)@\(database.host):\(database.port)/\(database.name): schema version \(version)")
                }
            }
        }

        struct Import: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Move a single node's accounts into the cluster's database.",
                discussion: """
                    Copies from the node that --from configures (its htpasswd file, its SQLite database and \
                    keys) into the database that --config names: users with their password hashes, their \
                    settings, personal access tokens, upstream logins (sealed again with the cluster's key) \
                    and usage history. Refused, with nothing written, if any of the users exists in the \
                    database already. Refresh tokens, limit windows and the cache stay behind: clients log \
                    in again, windows start afresh, and a node started on the old storage keeps its cache.
                    """)
            @OptionGroup var options: ConfigOption
            @Option(name: .long, help: "The single node's configuration file.") var from: String

            func run() async throws {
                try await options.runAsync { config in
                    guard config.database != nil else {
                        throw CLIError("--config names no database: (the cluster's configuration is needed)")
                    }
                    let source = try TollgateConfiguration.load(path: from)
                    guard source.database == nil else {
                        throw CLIError("\(from) is a cluster node's configuration (database:); --from takes a single node's")
                    }
                    let target = try await OpenedStorage.admin(config)
                    let moved = try await target.moveAccounts(from: try await OpenedStorage.admin(source))
                    print(
                        "moved \(moved.users) user(s), \(moved.settings) with settings, \(moved.personalTokens) personal token(s), "
                            + "\(moved.upstreamLogins) upstream login(s), \(moved.usageRows) usage row(s)")
                }
            }
        }
    }
}
