import Foundation
import GRDB
import RegistryCore
import TollgateLimits

extension SQLiteStore: UserSettingsStore {
    public func userSettings() async throws -> [UserSettingsRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT user, plan, overrides, allow, deny FROM user_settings ORDER BY user").map {
                row in
                UserSettingsRecord(
                    user: row["user"], plan: row["plan"], overrides: Self.decodeOverrides(row["overrides"]),
                    allow: Self.decodeList(row["allow"]), deny: Self.decodeList(row["deny"]))
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
                        INSERT INTO user_settings (user, plan, overrides, allow, deny, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                        ON CONFLICT (user) DO UPDATE SET
                            plan = excluded.plan, overrides = excluded.overrides, allow = excluded.allow,
                            deny = excluded.deny, updated_at = excluded.updated_at
                        """,
                    arguments: [
                        s.user, s.plan, Self.encodeOverrides(s.overrides), s.allow.map(Self.encodeList),
                        s.deny.map(Self.encodeList), Date().timeIntervalSince1970,
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

    /// `{"pulls_per_6h":3,"bytes_per_day":null}`: a JSON object, null for unlimited.
    static func encodeOverrides(_ o: [String: Int64?]) -> String {
        let items = o.keys.sorted().map { key in
            "\(JSONString.quote(key)):\(o[key]!.map(String.init) ?? "null")"
        }
        return "{" + items.joined(separator: ",") + "}"
    }

    static func encodeList(_ list: [String]) -> String {
        "[" + list.map(JSONString.quote).joined(separator: ",") + "]"
    }

    static func decodeList(_ text: String?) -> [String]? {
        guard let data = text?.data(using: .utf8) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String]
    }

    static func decodeOverrides(_ text: String) -> [String: Int64?] {
        guard let data = text.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [:] }
        var result: [String: Int64?] = [:]
        for (key, value) in object {
            if value is NSNull {
                result[key] = .some(nil)
            } else if let n = value as? NSNumber {
                result[key] = .some(n.int64Value)
            }
        }
        return result
    }
}
