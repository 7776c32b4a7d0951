import Hummingbird
import NIOCore
import Prometheus
import RegistryCore

/// `/metrics`: the Prometheus text format, for clients in `metrics.allow`.
struct MetricsController: Sendable {
    let registry: PrometheusCollectorRegistry
    let allow: [AddressRange]

    func addRoutes(to r: Router<TollgateContext>) {
        r.get("/metrics") { _, context in
            guard let address = context.clientAddress, allow.contains(where: { $0.contains(address) }) else {
                throw RegistryError(.denied, "metrics are not offered to this address")
            }
            var buffer: [UInt8] = []
            buffer.reserveCapacity(16 << 10)
            registry.emit(into: &buffer)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .contentLength: String(buffer.count)],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }
}
