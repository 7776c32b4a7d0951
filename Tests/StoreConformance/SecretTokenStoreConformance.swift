import Foundation
import Testing
import TollgateAuth

/// The contract of `SecretTokenStore`, for every adapter.
public struct SecretTokenStoreConformance<Store: SecretTokenStore>: ConformanceSuite {
    let engine: Engine<Store>

    public init(_ engine: Engine<Store>) { self.engine = engine }

    public var checks: [Check] {
        [
            ("roundTripAndListPerUserAndKind", roundTripAndListPerUserAndKind),
            ("anIdIsTakenOnce", anIdIsTakenOnce),
            ("deletingATokenEndsWhatWasObtainedWithIt", deletingATokenEndsWhatWasObtainedWithIt),
            ("keepNewestCapsExpiredFirstThenOldest", keepNewestCapsExpiredFirstThenOldest),
            ("deleteAllOfAUser", deleteAllOfAUser),
            ("survivesARestart", survivesARestart),
            ("twoConcurrentWriters", twoConcurrentWriters),
        ]
    }

    func roundTripAndListPerUserAndKind() async throws {
        let m = try await engine.open().store
        #expect(try await m.secretToken(id: "pat") == nil)
        #expect(try await m.secretTokens(user: "u", kind: .personal).isEmpty)
        let full = SecretTokenRecord(
            id: "r", user: "u", kind: .refresh, label: "laptop", secretHash: "h1", created: at(5), expires: at(50),
            origin: "pat", client: "docker", lastUsed: at(6))
        try await m.insertSecretToken(full, keepNewest: nil)
        try await m.insertSecretToken(token("pat", .personal, at: 3), keepNewest: nil)
        try await m.insertSecretToken(token("pat0", .personal, at: 1), keepNewest: nil)
        try await m.insertSecretToken(token("other", .personal, user: "v", at: 2), keepNewest: nil)
        #expect(try await m.secretToken(id: "r") == full)
        #expect(try await m.secretToken(id: "pat") == token("pat", .personal, at: 3))
        // Oldest first; one user's, one kind.
        #expect(try await m.secretTokens(user: "u", kind: .personal).map(\.id) == ["pat0", "pat"])
        #expect(try await m.secretTokens(user: "u", kind: .refresh) == [full])
        #expect(try await m.secretTokens(user: "v", kind: .refresh).isEmpty)
        try await m.touchSecretToken(id: "pat", at: at(99))
        #expect(try await m.secretToken(id: "pat")?.lastUsed == at(99))
        try await m.touchSecretToken(id: "gone", at: at(99))  // no such token: nothing happens
        #expect(try await m.secretToken(id: "gone") == nil)
    }

    func anIdIsTakenOnce() async throws {
        let m = try await engine.open().store
        try await m.insertSecretToken(token("t", .personal, at: 1), keepNewest: nil)
        await #expect(throws: (any Error).self) {
            try await m.insertSecretToken(token("t", .refresh, user: "v", at: 2), keepNewest: nil)
        }
        #expect(try await m.secretToken(id: "t") == token("t", .personal, at: 1))
    }

    func deletingATokenEndsWhatWasObtainedWithIt() async throws {
        let m = try await engine.open().store
        try await m.insertSecretToken(token("pat", .personal, at: 1), keepNewest: nil)
        try await m.insertSecretToken(token("r-pat", .refresh, origin: "pat", at: 2), keepNewest: 3)
        try await m.insertSecretToken(token("r-pw", .refresh, at: 3), keepNewest: 3)
        #expect(try await m.secretToken(id: "r-pat")?.origin == "pat")
        #expect(try await m.secretToken(id: "r-pat")?.client == "c")
        // Revoking the personal token ends the refresh token obtained with it, not the other.
        #expect(try await m.deleteSecretToken(id: "pat"))
        #expect(try await m.secretToken(id: "r-pat") == nil)
        #expect(try await m.secretToken(id: "r-pw") != nil)
        #expect(try await !m.deleteSecretToken(id: "pat"))
        // By kind: a user's personal tokens, counted, take their refresh tokens along.
        try await m.insertSecretToken(token("p1", .personal, at: 4), keepNewest: nil)
        try await m.insertSecretToken(token("p2", .personal, at: 5), keepNewest: nil)
        try await m.insertSecretToken(token("r-p1", .refresh, origin: "p1", at: 6), keepNewest: nil)
        try await m.insertSecretToken(token("p-v", .personal, user: "v", at: 7), keepNewest: nil)
        #expect(try await m.deleteSecretTokens(user: "u", kind: .personal) == 2)
        #expect(try await m.secretTokens(user: "u", kind: .refresh).map(\.id) == ["r-pw"])
        #expect(try await m.secretToken(id: "p-v") != nil)
        #expect(try await m.deleteSecretTokens(user: "u", kind: .personal) == 0)
    }

    func keepNewestCapsExpiredFirstThenOldest() async throws {
        let m = try await engine.open().store
        // At most 3 refresh tokens: the oldest go.
        for i in 0..<4 { try await m.insertSecretToken(token("r\(i)", .refresh, at: Double(10 + i)), keepNewest: 3) }
        #expect(try await m.secretTokens(user: "u", kind: .refresh).map(\.id) == ["r1", "r2", "r3"])
        try await m.touchSecretToken(id: "r3", at: at(99))
        #expect(try await m.secretToken(id: "r3")?.lastUsed == at(99))
        // Expired ones (at the new token's creation) go first, however new.
        try await m.insertSecretToken(token("x", .refresh, at: 20, expires: 21), keepNewest: 3)
        try await m.insertSecretToken(token("y", .refresh, at: 22), keepNewest: 3)
        #expect(try await m.secretTokens(user: "u", kind: .refresh).map(\.id) == ["r2", "r3", "y"])
        // Only the user's tokens of that kind count; capping a personal token ends its refresh tokens.
        try await m.insertSecretToken(token("p1", .personal, at: 30), keepNewest: 1)
        try await m.insertSecretToken(token("r-p1", .refresh, origin: "p1", at: 31), keepNewest: nil)
        try await m.insertSecretToken(token("v1", .refresh, user: "v", at: 1), keepNewest: 1)
        try await m.insertSecretToken(token("p2", .personal, at: 32), keepNewest: 1)
        #expect(try await m.secretTokens(user: "u", kind: .personal).map(\.id) == ["p2"])
        #expect(try await m.secretTokens(user: "u", kind: .refresh).map(\.id) == ["r2", "r3", "y"])
        #expect(try await m.secretTokens(user: "v", kind: .refresh).map(\.id) == ["v1"])
        try await m.insertSecretToken(token("p3", .personal, at: 33), keepNewest: 0)
        #expect(try await m.secretTokens(user: "u", kind: .personal).isEmpty)
    }

    func deleteAllOfAUser() async throws {
        let m = try await engine.open().store
        try await m.insertSecretToken(token("p", .personal, at: 1), keepNewest: nil)
        try await m.insertSecretToken(token("r", .refresh, origin: "p", at: 2), keepNewest: nil)
        try await m.insertSecretToken(token("r2", .refresh, at: 3), keepNewest: nil)
        try await m.insertSecretToken(token("pv", .personal, user: "v", at: 4), keepNewest: nil)
        #expect(try await m.deleteSecretTokens(user: "u", kind: nil) == 3)
        #expect(try await m.secretTokens(user: "u", kind: .refresh).isEmpty)
        #expect(try await m.secretTokens(user: "v", kind: .personal).map(\.id) == ["pv"])
        #expect(try await m.deleteSecretTokens(user: "u", kind: nil) == 0)
    }

    func survivesARestart() async throws {
        let (m, reopen) = try await engine.open()
        let record = token("r", .refresh, origin: "p", at: 5, expires: 500)
        try await m.insertSecretToken(record, keepNewest: nil)
        try await m.touchSecretToken(id: "r", at: at(7))
        var touched = record
        touched.lastUsed = at(7)
        #expect(try await reopen().secretToken(id: "r") == touched)
    }

    func twoConcurrentWriters() async throws {
        let m = try await engine.open().store
        // Capped at the 10 newest while both write: exactly the 10 newest of all remain.
        try await concurrently { task, i in
            try await m.insertSecretToken(token("t\(task)-\(i)", .refresh, at: Double(2 * i + task)), keepNewest: 10)
            try await m.insertSecretToken(token("p\(task)-\(i)", .personal, user: "w\(task)", at: Double(i)), keepNewest: nil)
        }
        let kept = try await m.secretTokens(user: "u", kind: .refresh)
        #expect(kept.map(\.created) == (90..<100).map { at(Double($0)) })
        #expect(try await m.secretTokens(user: "w0", kind: .personal).count == 50)
        #expect(try await m.secretTokens(user: "w1", kind: .personal).count == 50)
    }
}

/// A token of user `u` (unless told), with client "c".
func token(
    _ id: String, _ kind: SecretTokenRecord.Kind, user: String = "u", origin: String? = nil, at created: Double,
    expires: Double? = nil
) -> SecretTokenRecord {
    SecretTokenRecord(
        id: id, user: user, kind: kind, label: "", secretHash: "h", created: at(created), expires: expires.map(at),
        origin: origin, client: "c")
}
