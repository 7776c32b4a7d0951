import ArgumentParser
import Foundation
import Logging
import TollgatePostgres
import TollgateServer

extension Tollgate {
    struct DatabaseCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "db", abstract: "The cluster's shared PostgreSQL database (database: in the configuration).",
            subcommands: [Migrate.self])

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
    }
}
