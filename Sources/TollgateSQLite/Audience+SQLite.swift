import GRDB
import RegistryCore

/// An audience is stored as its key (`shared`, `user:<name>`).
extension Audience: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { key.databaseValue }

    public static func fromDatabaseValue(_ value: DatabaseValue) -> Audience? {
        String.fromDatabaseValue(value).flatMap(Audience.init(key:))
    }
}
