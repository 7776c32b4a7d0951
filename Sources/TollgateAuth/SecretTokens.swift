import Crypto
import Foundation
import Synchronization

/// Personal access tokens (`tgp_…`), refresh tokens (`tgr_…`) and console sessions (`tgs_…`):
/// random secrets handed out once, stored only as SHA-256 hashes (they carry 256 bits of entropy, so no slow hash is
/// needed), looked up by the id embedded in them.
public final class SecretTokens: Sendable {
    let store: any SecretTokenStore
    /// Verified personal tokens, briefly (they may be sent on every request as a password):
    /// a revocation takes effect within this time.
    let cacheTTL: Duration
    private let recent = Mutex<[SHA256Digest: (record: SecretTokenRecord, until: ContinuousClock.Instant)]>([:])

    public init(store: any SecretTokenStore, cacheTTL: Duration = .seconds(1)) {
        self.store = store
        self.cacheTTL = cacheTTL
    }

    static func prefix(_ kind: SecretTokenRecord.Kind) -> String {
        switch kind {
        case .personal: "tgp_"
        case .refresh: "tgr_"
        case .session: "tgs_"
        }
    }

    public static func looksLikeToken(_ s: String) -> Bool { s.hasPrefix("tgp_") || s.hasPrefix("tgr_") }

    /// Creates a secret for `user`; the returned string is shown once and never stored. A refresh
    /// token names its `origin` (the personal token it was obtained with, nil for a password) and
    /// `client`; `keepNewest` caps the user's live credentials of `kind` (oldest end first).
    public func create(
        user: String, kind: SecretTokenRecord.Kind, label: String, expires: Date?, origin: String? = nil,
        client: String? = nil, keepNewest: Int? = nil, now: Date = Date()
    ) async throws -> (record: SecretTokenRecord, secret: String) {
        let id = Self.randomHex(8)
        let secret = Self.prefix(kind) + id + "_" + Self.randomBase64URL(32)
        let record = SecretTokenRecord(
            id: id, user: user, kind: kind, label: label, secretHash: Self.hash(secret), created: now, expires: expires,
            origin: origin, client: client, lastUsed: kind == .refresh ? now : nil)
        try await store.insertSecretToken(record, keepNewest: keepNewest)
        return (record, secret)
    }

    /// The credential a presented secret belongs to, if it is valid and not expired. A refresh
    /// token obtained with a personal token is valid only while that token is.
    public func verify(_ secret: String, kind: SecretTokenRecord.Kind, now: Date = Date()) async throws
        -> SecretTokenRecord?
    {
        let p = Self.prefix(kind)
        guard secret.hasPrefix(p), secret.utf8.count < 200 else { return nil }
        let rest = secret.dropFirst(p.count)
        guard let sep = rest.firstIndex(of: "_") else { return nil }
        let id = String(rest[..<sep])
        guard id.utf8.count == 16, id.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }),
            let record = try await store.secretToken(id: id), record.kind == kind
        else { return nil }
        guard constantTimeEqual(Array(Self.hash(secret).utf8), Array(record.secretHash.utf8)) else { return nil }
        if let expires = record.expires, expires < now { return nil }
        if let origin = record.origin {
            guard let parent = try await store.secretToken(id: origin), parent.kind == .personal,
                parent.user == record.user, parent.expires.map({ $0 >= now }) ?? true
            else { return nil }
        }
        return record
    }

    /// Notes a refresh grant (`tollgate token list` shows a login's last use) or a session's request.
    public func recordUse(_ record: SecretTokenRecord, now: Date = Date()) async throws {
        try await store.touchSecretToken(id: record.id, at: now)
    }

    /// `verify` for personal tokens on the request path, remembered for `cacheTTL`; notes the
    /// token's use (to the minute).
    public func verifyPersonal(_ secret: String) async throws -> SecretTokenRecord? {
        let key = SHA256.hash(data: Array(secret.utf8))
        let now = ContinuousClock.now
        if let hit = recent.withLock({ $0[key] }), hit.until > now { return hit.record }
        guard let record = try await verify(secret, kind: .personal) else { return nil }
        // "Last used" for `token list` and the console, written at most once a minute per token.
        if record.lastUsed.map({ Date().timeIntervalSince($0) >= 60 }) ?? true {
            try? await store.touchSecretToken(id: record.id, at: Date())
        }
        recent.withLock { r in
            if r.count > 10_000 { r = r.filter { $0.value.until > now } }
            r[key] = (record, now + cacheTTL)
        }
        return record
    }

    static func hash(_ secret: String) -> String {
        SHA256.hash(data: Array(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func randomHex(_ bytes: Int) -> String {
        (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }

    /// `bytes` random bytes, base64url without padding.
    public static func randomBase64URL(_ bytes: Int) -> String {
        var g = SystemRandomNumberGenerator()
        let raw = (0..<bytes).map { _ in UInt8.random(in: 0...255, using: &g) }
        return Data(raw).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
