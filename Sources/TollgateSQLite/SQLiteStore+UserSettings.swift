import Foundation
import GRDB
import RegistryCore
import TollgateLimits

extension SQLiteStore: UserSettingsStore {
    public func userSettings() async throws -> [UserSettingsRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT user, plan, overrides, allow, deny, role, expires FROM user_settings ORDER BY user"
            ).map { row in
                UserSettingsRecord(
                    user: row["user"], plan: row["plan"], overrides: SettingsJSON.decodeOverrides(row["overrides"]),
                    allow: SettingsJSON.decodeList(row["allow"]), deny: SettingsJSON.decodeList(row["deny"]),
                    role: row["role"], expires: row["expires"])
            }
        }
    }

    public func putUserSettings(_ s: UserSettingsRecord) async throws {
        try await pool.write { db in
            if s.isEmpty {
                try db.execute(sql: "DELETE FROM user_settings WHERE user = ?", arguments: [s.user])
            } else {
                try db.execute(
                    sql: """
                        INSERT INTO user_settings (user, plan, overrides, allow, deny, role, expires, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (user) DO UPDATE SET
                            plan = excluded.plan, overrides = excluded.overrides, allow = excluded.allow,
                            deny = excluded.deny, role = excluded.role, expires = excluded.expires,
                            updated_at = excluded.updated_at
                        """,
                    arguments: [
                        s.user, s.plan, SettingsJSON.encodeOverrides(s.overrides), s.allow.map(SettingsJSON.encodeList),
                        s.deny.map(SettingsJSON.encodeList), s.role, s.expires, Date().timeIntervalSince1970,
                    ])
            }
            try db.execute(sql: "UPDATE settings_version SET version = version + 1 WHERE id = 1")
        }
    }

    public func settingsVersion() async throws -> Int64 {
        try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT version FROM settings_version WHERE id = 1") ?? 0
        }
    }
}
