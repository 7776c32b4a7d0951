import Foundation
import Testing
import TollgateAuth

/// The contract of `UserStore`, for every adapter.
public struct UserStoreConformance<Store: UserStore>: ConformanceSuite {
    let engine: Engine<Store>

    public init(_ engine: Engine<Store>) { self.engine = engine }

    public var checks: [Check] {
        [
            ("addListAndRefuseATakenName", addListAndRefuseATakenName),
            ("changesAnswerWhetherTheUserExists", changesAnswerWhetherTheUserExists),
            ("versionMovesWithEveryChange", versionMovesWithEveryChange),
            ("survivesARestart", survivesARestart),
            ("twoConcurrentWriters", twoConcurrentWriters),
        ]
    }

    func addListAndRefuseATakenName() async throws {
        let users = try await engine.open().store
        #expect(!users.location.isEmpty)
        #expect(try await users.listUsers() == UserListing())
        #expect(try await users.user("alice") == nil)
        #expect(try await users.addUser(UserRecord(name: "alice", passwordHash: bcryptLike("a"))))
        #expect(try await users.addUser(UserRecord(name: "bob", passwordHash: bcryptLike("b"), disabled: true)))
        #expect(try await !users.addUser(UserRecord(name: "alice", passwordHash: bcryptLike("c"))))
        let listing = try await users.listUsers()
        #expect(listing.problems.isEmpty)
        #expect(
            listing.users == [
                "alice": UserRecord(name: "alice", passwordHash: bcryptLike("a")),
                "bob": UserRecord(name: "bob", passwordHash: bcryptLike("b"), disabled: true),
            ])
        #expect(try await users.user("alice")?.passwordHash == bcryptLike("a"))
    }

    func changesAnswerWhetherTheUserExists() async throws {
        let users = try await engine.open().store
        #expect(try await !users.setPasswordHash(bcryptLike("x"), user: "nobody"))
        #expect(try await !users.setDisabled(true, user: "nobody"))
        #expect(try await !users.deleteUser("nobody"))
        #expect(try await users.listUsers().users.isEmpty)
        _ = try await users.addUser(UserRecord(name: "alice", passwordHash: bcryptLike("a")))
        #expect(try await users.setDisabled(true, user: "alice"))
        #expect(try await users.user("alice")?.disabled == true)
        // A new password keeps the disabled mark.
        #expect(try await users.setPasswordHash(bcryptLike("n"), user: "alice"))
        #expect(try await users.user("alice") == UserRecord(name: "alice", passwordHash: bcryptLike("n"), disabled: true))
        #expect(try await users.setDisabled(false, user: "alice"))
        #expect(try await users.user("alice")?.disabled == false)
        #expect(try await users.deleteUser("alice"))
        #expect(try await users.user("alice") == nil)
        #expect(try await !users.deleteUser("alice"))
        // The name is free again.
        #expect(try await users.addUser(UserRecord(name: "alice", passwordHash: bcryptLike("z"))))
    }

    func versionMovesWithEveryChange() async throws {
        let users = try await engine.open().store
        _ = try await users.addUser(UserRecord(name: "alice", passwordHash: bcryptLike("a")))
        var last = try #require(try await users.version())
        #expect(try await users.version() == last)  // nothing changed: the same
        let changes: [@Sendable (Store) async throws -> Bool] = [
            { try await $0.addUser(UserRecord(name: "bob", passwordHash: bcryptLike("b"))) },
            { try await $0.setPasswordHash(bcryptLike("c"), user: "alice") },
            { try await $0.setDisabled(true, user: "alice") },
            { try await $0.setDisabled(false, user: "alice") },
            { try await $0.deleteUser("bob") },
        ]
        for change in changes {
            #expect(try await change(users))
            let now = try #require(try await users.version())
            #expect(now != last)
            last = now
        }
    }

    func survivesARestart() async throws {
        let (users, reopen) = try await engine.open()
        _ = try await users.addUser(UserRecord(name: "alice", passwordHash: bcryptLike("a"), disabled: true))
        _ = try await users.addUser(UserRecord(name: "bob", passwordHash: bcryptLike("b")))
        let before = try await users.listUsers()
        let again = try await reopen()
        #expect(try await again.listUsers() == before)
        #expect(try await again.user("alice")?.disabled == true)
    }

    func twoConcurrentWriters() async throws {
        let users = try await engine.open().store
        try await concurrently(each: 25) { task, i in
            let added = try await users.addUser(UserRecord(name: "u\(task)-\(i)", passwordHash: bcryptLike("\(i)")))
            #expect(added)
        }
        let listing = try await users.listUsers()
        #expect(listing.users.count == 50)
        #expect(listing.problems.isEmpty)
    }
}

/// A well-formed bcrypt hash (never checked against a password here), distinct per `seed`.
func bcryptLike(_ seed: String) -> String {
    let alphabet = Array("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    let tail = seed.utf8.map { alphabet[Int($0) % alphabet.count] }
    return "$2y$04$" + String((tail + Array(repeating: Character("x"), count: 53)).prefix(53))
}
