extension Duration {
    /// The duration in seconds, fractions included (for comparisons with Unix times and for
    /// APIs that take `Double` seconds).
    public var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
