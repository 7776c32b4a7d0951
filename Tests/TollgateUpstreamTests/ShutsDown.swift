@testable import TollgateUpstream

/// Something with a connection pool that must be shut down before it is freed.
protocol ShutsDown: Sendable {
    func shutdown() async throws
}

extension RegistryClient: ShutsDown {}
extension UpstreamTransport: ShutsDown {}

/// Runs `body` with `client`, shutting it down however `body` ends.
func closing<Client: ShutsDown, T>(_ client: Client, _ body: (Client) async throws -> T) async throws -> T {
    let result: T
    do {
        result = try await body(client)
    } catch {
        try? await client.shutdown()
        throw error
    }
    try await client.shutdown()
    return result
}
