/// An error in the registry API's own vocabulary: a code from the distribution spec, a message,
/// an optional detail, and the HTTP status that code is answered with.
public struct RegistryError: Error, Sendable, Equatable {
    public enum Code: String, Sendable, CaseIterable {
        case unauthorized = "UNAUTHORIZED"
        case denied = "DENIED"
        case nameUnknown = "NAME_UNKNOWN"
        case manifestUnknown = "MANIFEST_UNKNOWN"
        case blobUnknown = "BLOB_UNKNOWN"
        case nameInvalid = "NAME_INVALID"
        case tagInvalid = "TAG_INVALID"
        case digestInvalid = "DIGEST_INVALID"
        case sizeInvalid = "SIZE_INVALID"
        case manifestInvalid = "MANIFEST_INVALID"
        case paginationNumberInvalid = "PAGINATION_NUMBER_INVALID"
        /// A query parameter of a Tollgate endpoint (not a distribution code).
        case parameterInvalid = "PARAMETER_INVALID"
        case rangeInvalid = "RANGE_INVALID"
        case unsupported = "UNSUPPORTED"
        case tooManyRequests = "TOOMANYREQUESTS"
        case unavailable = "UNAVAILABLE"
        case badGateway = "BAD_GATEWAY"
        case gatewayTimeout = "GATEWAY_TIMEOUT"
        case unknown = "UNKNOWN"

        /// The HTTP status each code is answered with (distribution's `errcode/register.go`).
        public var httpStatus: Int {
            switch self {
            case .unauthorized: 401
            case .denied: 403
            case .nameUnknown, .manifestUnknown, .blobUnknown: 404
            case .nameInvalid, .tagInvalid, .digestInvalid, .sizeInvalid, .manifestInvalid, .parameterInvalid,
                .paginationNumberInvalid:
                400
            case .rangeInvalid: 416
            case .unsupported: 405
            case .tooManyRequests: 429
            case .unavailable: 503
            case .badGateway: 502
            case .gatewayTimeout: 504
            case .unknown: 500
            }
        }
    }

    public var code: Code
    public var message: String
    /// Free-form detail, already JSON-encodable text (placed in `detail` as a string).
    public var detail: String?
    /// Seconds a client should wait (429, 503), sent as `Retry-After`.
    public var retryAfter: Int?
    /// Further response headers (e.g. a 401's `WWW-Authenticate` challenge).
    public var headers: [String: String] = [:]

    public init(_ code: Code, _ message: String, detail: String? = nil, retryAfter: Int? = nil) {
        self.code = code
        self.message = message
        self.detail = detail
        self.retryAfter = retryAfter
    }

    public var httpStatus: Int { code.httpStatus }

    /// `{"errors":[{"code":…,"message":…,"detail":…}]}`, the body every registry error carries.
    public var jsonBody: String {
        var s = "{\"errors\":[{\"code\":\"\(code.rawValue)\",\"message\":\(JSONString.quote(message))"
        if let detail { s += ",\"detail\":\(JSONString.quote(detail))" }
        return s + "}]}"
    }
}

extension RegistryError {
    public static func nameInvalid(_ detail: String) -> RegistryError {
        RegistryError(.nameInvalid, "invalid repository name", detail: detail)
    }
    public static func digestInvalid(_ detail: String) -> RegistryError {
        RegistryError(.digestInvalid, "provided digest did not match uploaded content", detail: detail)
    }
    public static func manifestUnknown(_ reference: String) -> RegistryError {
        RegistryError(.manifestUnknown, "manifest unknown", detail: reference)
    }
    public static func blobUnknown(_ digest: String) -> RegistryError {
        RegistryError(.blobUnknown, "blob unknown to registry", detail: digest)
    }
    public static func nameUnknown(_ name: String) -> RegistryError {
        RegistryError(.nameUnknown, "repository name not known to registry", detail: name)
    }
    public static let unsupported = RegistryError(
        .unsupported, "The operation is unsupported: this registry is a read-only pull-through mirror")
}

/// Minimal JSON string quoting for hand-built bodies.
public enum JSONString {
    public static func quote(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

