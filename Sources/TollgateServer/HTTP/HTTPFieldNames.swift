import HTTPTypes

/// Header names the registry API uses that HTTPTypes doesn't name.
extension HTTPField.Name {
    static let distributionAPIVersion = Self("Docker-Distribution-API-Version")!
    static let dockerContentDigest = Self("Docker-Content-Digest")!
    static let xCache = Self("X-Cache")!
    static let warning = Self("Warning")!
    static let link = Self("Link")!
    static let ociFiltersApplied = Self("OCI-Filters-Applied")!
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
}
