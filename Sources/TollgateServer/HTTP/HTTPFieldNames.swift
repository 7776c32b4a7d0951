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
    /// Cluster mode: a request another node forwards, signed (`ForwardSigner`).
    static let tollgateForwarded = Self("Tollgate-Forwarded")!
    /// On a forwarded manifest HEAD's answer: answering took an upstream GET, so the forwarding
    /// node charges the caller a pull (the owner doesn't apply limits).
    static let tollgatePullCharge = Self("Tollgate-Pull-Charge")!
}
