import Foundation
import RegistryCore

/// How adapters store a `UserSettingsRecord`'s overrides and policy lists: JSON text, the same in
/// every engine (so a database can be moved between engines as text).
public enum SettingsJSON {
    /// `{"pulls_per_6h":3,"bytes_per_day":null}`: a JSON object, null for unlimited.
    public static func encodeOverrides(_ o: [String: Int64?]) -> String {
        let items = o.keys.sorted().map { key in
            "\(JSONString.quote(key)):\(o[key]!.map(String.init) ?? "null")"
        }
        return "{" + items.joined(separator: ",") + "}"
    }

    public static func encodeList(_ list: [String]) -> String {
        "[" + list.map(JSONString.quote).joined(separator: ",") + "]"
    }

    public static func decodeList(_ text: String?) -> [String]? {
        guard let data = text?.data(using: .utf8) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String]
    }

    public static func decodeOverrides(_ text: String) -> [String: Int64?] {
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
