import CoreMetrics
import RegistryCore

/// One upstream's metrics: time to the response head, and failures by kind (nothing without a
/// metrics factory).
struct UpstreamMetrics: Sendable {
    private let latency: CoreMetrics.Timer?
    private let errors: [String: Counter]
    /// The last hour, for the console.
    let health = UpstreamHealth()

    init(upstream: String, factory: (any MetricsFactory)?) {
        let u = [("upstream", upstream)]
        latency = factory.map {
            CoreMetrics.Timer(label: "tollgate_upstream_response_seconds", dimensions: u, preferredDisplayUnit: .seconds, factory: $0)
        }
        var errors: [String: Counter] = [:]
        if let factory {
            for kind in ["unreachable", "timeout", "protocol", "credentials", "status_429", "status_5xx"] {
                errors[kind] = Counter(label: "tollgate_upstream_errors_total", dimensions: u + [("kind", kind)], factory: factory)
            }
        }
        self.errors = errors
    }

    /// A response head arrived for a request sent at `started`.
    func responded(status: Int, since started: ContinuousClock.Instant) {
        let took = ContinuousClock.now - started
        latency?.recordNanoseconds(Int64(took.seconds * 1e9))
        health.responded(status: status, latency: took)
        if status == 429 { errors["status_429"]?.increment() }
        if status >= 500 { errors["status_5xx"]?.increment() }
    }

    func failed(_ kind: UpstreamError.Kind) {
        let what: String =
            switch kind {
            case .unreachable: "unreachable"
            case .timeout: "timed out"
            case .protocolError: "protocol error"
            case .credentialsRejected: "credentials refused"
            }
        health.failed(what)
        switch kind {
        case .unreachable: errors["unreachable"]?.increment()
        case .timeout: errors["timeout"]?.increment()
        case .protocolError: errors["protocol"]?.increment()
        case .credentialsRejected: errors["credentials"]?.increment()
        }
    }
}
