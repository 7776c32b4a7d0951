import Testing
import TollgateLimits

/// The contract of `UserSettingsStore`, for every adapter.
public struct UserSettingsStoreConformance<Store: UserSettingsStore>: ConformanceSuite {
    let engine: Engine<Store>

    public init(_ engine: Engine<Store>) { self.engine = engine }

    public var checks: [Check] {
        [
            ("settingsRoundTripWhole", settingsRoundTripWhole),
            ("emptySettingsAreRemoved", emptySettingsAreRemoved),
            ("everyPutBumpsTheVersion", everyPutBumpsTheVersion),
            ("survivesARestart", survivesARestart),
            ("twoConcurrentWriters", twoConcurrentWriters),
        ]
    }

    func settingsRoundTripWhole() async throws {
        let m = try await engine.open().store
        #expect(try await m.userSettings().isEmpty)
        // Unlimited (nil) overrides, limits this version doesn't know, empty and absent lists.
        let full = UserSettingsRecord(
            user: "b", plan: "pro", overrides: ["pulls_per_6h": 5, "bytes_per_day": Int64?.none, "pulls_per_day": 3],
            allow: ["docker.io/library/*"], deny: [], role: "admin", expires: "2027-01-31")
        let planOnly = UserSettingsRecord(user: "a", plan: "free")
        try await m.putUserSettings(full)
        try await m.putUserSettings(planOnly)
        // Sorted by user.
        #expect(try await m.userSettings() == [planOnly, full])
        // A put replaces the whole record, nothing merged.
        let replacement = UserSettingsRecord(user: "b", overrides: ["pulls_per_6h": Int64?.none], deny: ["ghcr.io/*"])
        try await m.putUserSettings(replacement)
        #expect(try await m.userSettings() == [planOnly, replacement])
    }

    func emptySettingsAreRemoved() async throws {
        let m = try await engine.open().store
        try await m.putUserSettings(UserSettingsRecord(user: "a", plan: "pro"))
        try await m.putUserSettings(UserSettingsRecord(user: "a"))
        #expect(try await m.userSettings().isEmpty)
        // A role or an end day alone is a setting.
        try await m.putUserSettings(UserSettingsRecord(user: "r", role: "admin"))
        try await m.putUserSettings(UserSettingsRecord(user: "x", expires: "2027-01-31"))
        #expect(try await m.userSettings() == [UserSettingsRecord(user: "r", role: "admin"), UserSettingsRecord(user: "x", expires: "2027-01-31")])
        try await m.putUserSettings(UserSettingsRecord(user: "r"))
        try await m.putUserSettings(UserSettingsRecord(user: "x"))
        // An empty list is a setting (nothing allowed), not an absent one.
        try await m.putUserSettings(UserSettingsRecord(user: "a", allow: []))
        #expect(try await m.userSettings() == [UserSettingsRecord(user: "a", allow: [])])
    }

    func everyPutBumpsTheVersion() async throws {
        let m = try await engine.open().store
        let v0 = try await m.settingsVersion()
        try await m.putUserSettings(UserSettingsRecord(user: "a", plan: "pro"))
        #expect(try await m.settingsVersion() == v0 + 1)
        try await m.putUserSettings(UserSettingsRecord(user: "a", plan: "pro"))
        #expect(try await m.settingsVersion() == v0 + 2)
        try await m.putUserSettings(UserSettingsRecord(user: "a"))
        #expect(try await m.settingsVersion() == v0 + 3)
        try await m.putUserSettings(UserSettingsRecord(user: "nobody"))
        #expect(try await m.settingsVersion() == v0 + 4)
    }

    func survivesARestart() async throws {
        let (m, reopen) = try await engine.open()
        let record = UserSettingsRecord(user: "a", plan: "pro", overrides: ["pulls_per_6h": Int64?.none], allow: ["x/*"])
        try await m.putUserSettings(record)
        let version = try await m.settingsVersion()
        let again = try await reopen()
        #expect(try await again.userSettings() == [record])
        #expect(try await again.settingsVersion() == version)
    }

    func twoConcurrentWriters() async throws {
        let m = try await engine.open().store
        let v0 = try await m.settingsVersion()
        try await concurrently(each: 25) { task, i in
            try await m.putUserSettings(UserSettingsRecord(user: "u\(task)-\(i)", plan: "p\(i)"))
        }
        #expect(try await m.userSettings().count == 50)
        #expect(try await m.settingsVersion() == v0 + 50)
    }
}
