import RegistryCore

/// The `application/x-www-form-urlencoded` body of `POST /token` (kept apart from
/// `TokenController`, which needs Hummingbird, so Fuzz/TokenForm can compile it alone).
enum TokenForm {
    /// See `FormURLEncoding.fields`.
    static func parse(_ text: String) -> [String: String]? { FormURLEncoding.fields(text) }
}
