import CoreMetrics

/// The cache's counters (swift-metrics; the server backs them with Prometheus).
struct CacheMetrics: Sendable {
    let fillJoins: Counter
    let manifestJoins: Counter
    let fills: Counter
    let fillFailures: Counter

    init(factory: any MetricsFactory) {
        fillJoins = Counter(label: "tollgate_singleflight_joins_total", dimensions: [("kind", "blob")], factory: factory)
        manifestJoins = Counter(label: "tollgate_singleflight_joins_total", dimensions: [("kind", "manifest")], factory: factory)
        fills = Counter(label: "tollgate_upstream_downloads_total", dimensions: [("result", "ok")], factory: factory)
        fillFailures = Counter(label: "tollgate_upstream_downloads_total", dimensions: [("result", "failed")], factory: factory)
    }
}

/// The janitor's counters and gauges.
struct JanitorMetrics: Sendable {
    let evictedBlobs: Counter
    let evictedBytes: Counter
    let damaged: Counter
    let diskBytes: Gauge
    let diskBlobs: Gauge

    init(factory: any MetricsFactory) {
        evictedBlobs = Counter(label: "tollgate_cache_evicted_blobs_total", factory: factory)
        evictedBytes = Counter(label: "tollgate_cache_evicted_bytes_total", factory: factory)
        damaged = Counter(label: "tollgate_cache_damaged_blobs_total", factory: factory)
        diskBytes = Gauge(label: "tollgate_cache_disk_bytes", factory: factory)
        diskBlobs = Gauge(label: "tollgate_cache_disk_blobs", factory: factory)
    }
}
