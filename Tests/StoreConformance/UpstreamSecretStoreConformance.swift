import Foundation
import Testing
import TollgateAuth

/// The contract of `UpstreamSecretStore`, for every adapter (its settings version: see
/// `SettingsVersionConformance`).
public struct UpstreamSecretStoreConformance<Store: UpstreamSecretStore>: ConformanceSuite {
    let engine: Engine<Store>

    public init(_ engine: Engine<Store>) { self.engine = engine }

    public var checks: [Check] {
        [
            ("putReplacesPerUserAndUpstream", putReplacesPerUserAndUpstream),
            ("listedInOrder", listedInOrder),
            ("deleteAnswersWhetherThereWasOne", deleteAnswersWhetherThereWasOne),
            ("lastResultsAreNotedAndResetByAReplacement", lastResultsAreNotedAndResetByAReplacement),
            ("survivesARestart", survivesARestart),
            ("twoConcurrentWriters", twoConcurrentWriters),
        ]
    }

    func putReplacesPerUserAndUpstream() async throws {
        let m = try await engine.open().store
        #expect(try await m.upstreamSecrets(user: "a").isEmpty)
        #expect(try await m.upstreamSecrets(user: nil).isEmpty)
        try await m.putUpstreamSecret(secret("a", "docker.io", username: "x", password: [1, 2]))
        #expect(try await m.upstreamSecrets(user: "a") == [secret("a", "docker.io", username: "x", password: [1, 2])])
        let replacement = secret("a", "docker.io", username: "y", password: [3], created: 20)
        try await m.putUpstreamSecret(replacement)
        #expect(try await m.upstreamSecrets(user: "a") == [replacement])
        #expect(try await m.upstreamSecrets(user: "b").isEmpty)
    }

    func listedInOrder() async throws {
        let m = try await engine.open().store
        for (user, upstream) in [("b", "ghcr.io"), ("a", "quay.io"), ("b", "docker.io"), ("a", "docker.io")] {
            try await m.putUpstreamSecret(secret(user, upstream))
        }
        #expect(try await m.upstreamSecrets(user: "b").map(\.upstream) == ["docker.io", "ghcr.io"])
        #expect(
            try await m.upstreamSecrets(user: nil).map { "\($0.user) \($0.upstream)" }
                == ["a docker.io", "a quay.io", "b docker.io", "b ghcr.io"])
    }

    func deleteAnswersWhetherThereWasOne() async throws {
        let m = try await engine.open().store
        try await m.putUpstreamSecret(secret("a", "docker.io"))
        try await m.putUpstreamSecret(secret("a", "ghcr.io"))
        #expect(try await !m.deleteUpstreamSecret(user: "b", upstream: "docker.io"))
        #expect(try await m.deleteUpstreamSecret(user: "a", upstream: "docker.io"))
        #expect(try await !m.deleteUpstreamSecret(user: "a", upstream: "docker.io"))
        #expect(try await m.upstreamSecrets(user: nil).map(\.upstream) == ["ghcr.io"])
    }

    func lastResultsAreNotedAndResetByAReplacement() async throws {
        let (m, reopen) = try await engine.open()
        try await m.putUpstreamSecret(secret("a", "docker.io"))
        try await m.putUpstreamSecret(secret("a", "ghcr.io"))
        #expect(try await m.upstreamSecrets(user: "a").allSatisfy { $0.lastResult == nil })
        let refused = UpstreamSecretRecord.LoginResult(accepted: false, at: Date(timeIntervalSince1970: 1_800_000_000))
        try await m.noteUpstreamSecretResult(user: "a", upstream: "docker.io", refused)
        try await m.noteUpstreamSecretResult(user: "b", upstream: "docker.io", refused)  // none: nothing happens
        #expect(try await reopen().upstreamSecrets(user: "a").map(\.lastResult) == [refused, nil])
        #expect(try await m.upstreamSecrets(user: "b").isEmpty)
        let accepted = UpstreamSecretRecord.LoginResult(accepted: true, at: Date(timeIntervalSince1970: 1_800_000_060))
        try await m.noteUpstreamSecretResult(user: "a", upstream: "docker.io", accepted)
        #expect(try await m.upstreamSecrets(user: "a").first?.lastResult == accepted)
        // new credentials are untried
        try await m.putUpstreamSecret(secret("a", "docker.io", username: "other"))
        #expect(try await m.upstreamSecrets(user: "a").first?.lastResult == nil)
    }

    func survivesARestart() async throws {
        let (m, reopen) = try await engine.open()
        let record = secret("a", "docker.io", username: "me", password: [0, 255, 7])
        try await m.putUpstreamSecret(record)
        #expect(try await reopen().upstreamSecrets(user: "a") == [record])
    }

    func twoConcurrentWriters() async throws {
        let m = try await engine.open().store
        try await concurrently { task, i in
            try await m.putUpstreamSecret(secret("u\(task)", "r\(i).example"))
        }
        #expect(try await m.upstreamSecrets(user: nil).count == 100)
        #expect(try await m.upstreamSecrets(user: "u1").count == 50)
    }
}

func secret(_ user: String, _ upstream: String, username: String = "n", password: [UInt8] = [1], created: Double = 10)
    -> UpstreamSecretRecord
{
    UpstreamSecretRecord(user: user, upstream: upstream, username: username, sealedPassword: Data(password), created: at(created))
}
