import CCrypt

/// bcrypt through the system's libcrypt (libxcrypt's `crypt_rn`, thread-safe). Blocking and
/// slow on purpose (cost 10 ≈ 70 ms): call it from a thread pool, never an event loop.
public enum Bcrypt {
    /// `$2y$`, `$2b$` or `$2a$`, two cost digits, `$`, 53 characters of salt and hash.
    public static func isBcryptHash(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count == 60, b[0] == UInt8(ascii: "$"), b[1] == UInt8(ascii: "2"),
            [UInt8(ascii: "y"), UInt8(ascii: "b"), UInt8(ascii: "a")].contains(b[2]), b[3] == UInt8(ascii: "$"),
            (0x30...0x39).contains(b[4]), (0x30...0x39).contains(b[5]), b[6] == UInt8(ascii: "$")
        else { return false }
        return b[7...].allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2e || c == 0x2f
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// A new `$2y$` hash (the variant Apache `htpasswd -B` writes) with a random salt.
    public static func hash(_ password: String, cost: Int = 10) throws -> String {
        guard (4...31).contains(cost) else { throw Failure(description: "bcrypt cost must be 4…31") }
        var setting = [CChar](repeating: 0, count: 128)
        guard crypt_gensalt_rn("$2y$", UInt(cost), nil, 0, &setting, Int32(setting.count)) != nil else {
            throw Failure(description: "crypt_gensalt_rn failed")
        }
        let settingString = String(decoding: setting.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let result = crypt(password, setting: settingString), isBcryptHash(result) else {
            throw Failure(description: "bcrypt hashing failed")
        }
        return result
    }

    /// The cost of a bcrypt hash (its two digits after the variant).
    public static func cost(of hash: String) -> Int? {
        guard isBcryptHash(hash) else { return nil }
        let b = Array(hash.utf8)
        return Int(b[4] - 0x30) * 10 + Int(b[5] - 0x30)
    }

    /// A well-formed hash of cost `cost` that no password matches: a fresh salt and random
    /// digest characters. Verifying against it costs what a real hash of that cost does, but
    /// making it costs nothing (no key schedule is run).
    public static func unmatchableHash(cost: Int) throws -> String {
        guard (4...31).contains(cost) else { throw Failure(description: "bcrypt cost must be 4…31") }
        var setting = [CChar](repeating: 0, count: 128)
        guard crypt_gensalt_rn("$2y$", UInt(cost), nil, 0, &setting, Int32(setting.count)) != nil else {
            throw Failure(description: "crypt_gensalt_rn failed")
        }
        let salt = String(decoding: setting.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let alphabet = Array("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        let digest = String((0..<31).map { _ in alphabet.randomElement()! })
        let hash = salt + digest
        guard isBcryptHash(hash) else { throw Failure(description: "unexpected bcrypt salt \(salt)") }
        return hash
    }

    /// Whether `password` matches `hash` (compared in constant time).
    public static func verify(_ password: String, hash: String) -> Bool {
        guard isBcryptHash(hash), let computed = crypt(password, setting: hash) else { return false }
        return constantTimeEqual(Array(computed.utf8), Array(hash.utf8))
    }

    private static func crypt(_ phrase: String, setting: String) -> String? {
        // struct crypt_data is ~32 KiB: keep it off the stack.
        let size = MemoryLayout<crypt_data>.size
        let data = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<crypt_data>.alignment)
        defer {
            data.initializeMemory(as: UInt8.self, repeating: 0, count: size)  // no password remains
            data.deallocate()
        }
        data.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        guard let out = crypt_rn(phrase, setting, data, Int32(size)) else { return nil }
        return String(cString: out)
    }
}

func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for i in a.indices { diff |= a[i] ^ b[i] }
    return diff == 0
}
