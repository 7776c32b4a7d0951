import Crypto

/// A content digest `algorithm:hex`. Only `sha256` (and `sha512`) content can be verified;
/// other well-formed algorithms parse but are refused by `verifiable`.
public struct Digest: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let algorithm: String
    public let hex: String

    public var description: String { "\(algorithm):\(hex)" }

    public static func < (a: Digest, b: Digest) -> Bool { a.description < b.description }

    /// Parses and validates a digest string. Only lowercase hex of the right length is accepted
    /// for the registered algorithms, so a digest can safely become a file name.
    public init(parsing s: some StringProtocol) throws {
        guard s.utf8.count <= 256 else { throw RegistryError.digestInvalid("digest too long") }
        guard let colon = s.firstIndex(of: ":") else { throw RegistryError.digestInvalid("digest has no algorithm") }
        let alg = String(s[s.startIndex..<colon])
        let hex = String(s[s.index(after: colon)...])
        guard Self.isValidAlgorithm(alg) else { throw RegistryError.digestInvalid("invalid digest algorithm") }
        let expectedLength: Int
        switch alg {
        case "sha256": expectedLength = 64
        case "sha512": expectedLength = 128
        default: throw RegistryError(.unsupported, "unsupported digest algorithm", detail: alg)
        }
        guard hex.utf8.count == expectedLength,
            hex.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        else { throw RegistryError.digestInvalid("invalid \(alg) hex") }
        self.algorithm = alg
        self.hex = hex
    }

    /// `alg` grammar: `[a-z0-9]+([+._-][a-z0-9]+)*`.
    static func isValidAlgorithm(_ alg: String) -> Bool {
        var previousWasSeparator = true
        for c in alg.utf8 {
            let isAlnum = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)
            if isAlnum {
                previousWasSeparator = false
            } else if c == 0x2b || c == 0x2e || c == 0x5f || c == 0x2d {
                if previousWasSeparator { return false }
                previousWasSeparator = true
            } else {
                return false
            }
        }
        return !alg.isEmpty && !previousWasSeparator
    }

    public static func sha256(of bytes: some Sequence<UInt8>) -> Digest {
        var h = DigestHasher(algorithm: "sha256")
        h.update(Array(bytes))
        return h.finalize()
    }
}

/// Incremental hashing for one digest algorithm.
public struct DigestHasher: Sendable {
    private enum State: Sendable {
        case sha256(SHA256)
        case sha512(SHA512)
    }
    private var state: State
    private let algorithm: String

    public init(algorithm: String) {
        self.algorithm = algorithm
        self.state = algorithm == "sha512" ? .sha512(SHA512()) : .sha256(SHA256())
    }

    public init(for digest: Digest) { self.init(algorithm: digest.algorithm) }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        switch state {
        case .sha256(var h):
            h.update(bufferPointer: bytes)
            state = .sha256(h)
        case .sha512(var h):
            h.update(bufferPointer: bytes)
            state = .sha512(h)
        }
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public func finalize() -> Digest {
        let bytes: [UInt8]
        switch state {
        case .sha256(let h): bytes = Array(h.finalize())
        case .sha512(let h): bytes = Array(h.finalize())
        }
        let hexDigits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 0xf)])
        }
        // Safe: constructed from valid lowercase hex of the algorithm's length.
        return try! Digest(parsing: algorithm + ":" + String(decoding: out, as: UTF8.self))
    }
}
