import Foundation
import GRDB
import RegistryCore

/// Tollgate's metadata in one SQLite file (WAL mode, a pool of readers and one writer): one
/// extension per store protocol (`SQLiteStore+<Store>.swift`), the schema and its
/// migrations in `SQLiteMigrations.swift`.
public final class SQLiteStore: Sendable {
    let pool: DatabasePool

    public init(path: String) throws {
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        self.pool = try DatabasePool(path: path, configuration: config)
        try Self.migrator.migrate(pool)
    }
}
