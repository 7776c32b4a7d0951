import Foundation
import Logging
import NIOSSL
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The server's certificate chain and key (`tls.certificate`, `tls.key`), re-read on SIGHUP:
/// every TLS handshake takes the current pair through NIOSSL's context callback, so a renewed
/// certificate applies to new connections without dropping the open ones.
final class TLSCertificates: Sendable {
    let certificatePath: String
    let keyPath: String
    private let current: Mutex<(chain: [NIOSSLCertificateSource], key: NIOSSLPrivateKeySource)>

    init(certificate: String, key: String) throws {
        certificatePath = certificate
        keyPath = key
        current = Mutex(try Self.load(certificate: certificate, key: key))
    }

    static func load(certificate: String, key: String) throws -> (
        chain: [NIOSSLCertificateSource], key: NIOSSLPrivateKeySource
    ) {
        guard let pem = FileManager.default.contents(atPath: certificate) else {
            throw ConfigurationError(problems: ["tls.certificate: cannot read \(certificate)"])
        }
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(Array(pem))
        } catch {
            throw ConfigurationError(problems: ["tls.certificate: \(certificate) is not a PEM certificate chain"])
        }
        guard !chain.isEmpty else { throw ConfigurationError(problems: ["tls.certificate: \(certificate) holds no certificate"]) }
        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        } catch {
            throw ConfigurationError(problems: ["tls.key: cannot read a PEM private key from \(key)"])
        }
        let pair: (chain: [NIOSSLCertificateSource], key: NIOSSLPrivateKeySource) = (
            chain.map { .certificate($0) }, .privateKey(privateKey)
        )
        // BoringSSL checks that the key belongs to the leaf certificate when a context is made.
        do {
            _ = try NIOSSLContext(
                configuration: .makeServerConfiguration(certificateChain: pair.chain, privateKey: pair.key))
        } catch {
            throw ConfigurationError(problems: ["tls.key: \(key) is not the private key of \(certificate)"])
        }
        return pair
    }

    /// Re-reads both files; on failure the previous pair stays in use.
    func reload() throws {
        let fresh = try Self.load(certificate: certificatePath, key: keyPath)
        current.withLock { $0 = fresh }
    }

    /// The server TLS configuration; `alpn`: the protocols offered (`h2` first for HTTP/2).
    func configuration(alpn: [String]) -> TLSConfiguration {
        let (chain, key) = current.withLock { $0 }
        var c = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: key)
        c.minimumTLSVersion = .tlsv12
        c.applicationProtocols = alpn
        c.sslContextCallback = { [self] _, promise in
            let (chain, key) = current.withLock { $0 }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = chain
            override.privateKey = key
            promise.succeed(override)
        }
        return c
    }
}

/// Reloads the TLS certificate on SIGHUP.
struct TLSReloadService: Service {
    let certificates: TLSCertificates
    let logger: Logger

    func run() async {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                do {
                    try certificates.reload()
                    logger.notice("TLS certificate reloaded", metadata: ["certificate": "\(certificates.certificatePath)"])
                } catch {
                    logger.error("TLS certificate not reloaded; keeping the previous one", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
