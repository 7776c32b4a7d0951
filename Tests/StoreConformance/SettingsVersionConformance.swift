import Foundation
import Testing
import TollgateAdmin
import TollgateAuth
import TollgateLimits

/// One settings version for the stores a running server reloads from (`UserSettingsStore`):
/// every change of user settings, upstream secrets and user removals moves it, from any instance.
public struct SettingsVersionConformance<Store: UserSettingsStore & UpstreamSecretStore & UserRemovalStore>: ConformanceSuite {
    let engine: Engine<Store>

    public init(_ engine: Engine<Store>) { self.engine = engine }

    public var checks: [Check] {
        [
            ("everyChangeMovesIt", everyChangeMovesIt),
            ("anotherInstanceSeesIt", anotherInstanceSeesIt),
        ]
    }

    func everyChangeMovesIt() async throws {
        let m = try await engine.open().store
        let changes: [(String, @Sendable (Store) async throws -> Void)] = [
            ("putUserSettings", { try await $0.putUserSettings(UserSettingsRecord(user: "a", plan: "pro")) }),
            ("putUpstreamSecret", { try await $0.putUpstreamSecret(secret("a", "docker.io")) }),
            ("deleteUpstreamSecret", { _ = try await $0.deleteUpstreamSecret(user: "a", upstream: "docker.io") }),
            ("deleteUpstreamSecret of none", { _ = try await $0.deleteUpstreamSecret(user: "a", upstream: "docker.io") }),
            ("eraseUser", { try await $0.eraseUser(name("a"), removed: Date()) }),
            ("eraseUser clearing leftovers", { try await $0.eraseUser(name("b"), removed: nil) }),
        ]
        for (name, change) in changes {
            let before = try await m.settingsVersion()
            try await change(m)
            #expect(try await m.settingsVersion() > before, "\(name)")
        }
    }

    func anotherInstanceSeesIt() async throws {
        let (m, reopen) = try await engine.open()
        let other = try await reopen()
        let before = try await other.settingsVersion()
        try await m.putUpstreamSecret(secret("a", "docker.io"))
        #expect(try await other.settingsVersion() > before)
        #expect(try await other.upstreamSecrets(user: "a").count == 1)
    }
}
