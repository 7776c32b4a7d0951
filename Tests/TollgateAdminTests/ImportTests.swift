import Foundation
import Testing
import TollgateAdmin
import TollgateAuth
import TollgateInMemoryStores

/// `user import` / `user export` over in-memory stores.
struct ImportTests {
    let test = AdminTests()

    @Test func importsBcryptUsersAllOrNothingAndExportsThem() async throws {
        let admin = test.admin
        let alice = try Bcrypt.hash("a-pw", cost: 4), bob = try Bcrypt.hash("b-pw", cost: 4)
        // An MD5 line (htpasswd -m) and a bad name refuse the whole file, by line number.
        let bad = "alice:\(alice)\n# comment\nmd5user:$apr1$abc$0123456789abcdefghijkl\nx y:\(bob)\n"
        do {
            _ = try await admin.importUsers(htpasswd: bad, update: false)
            Issue.record("a file with an MD5 line was imported")
        } catch let e as AdminError {
            #expect(e.description.hasPrefix("nothing imported:"))
            #expect(e.description.contains("htpasswd line 3 (user md5user): not a bcrypt hash"))
            #expect(e.description.contains("htpasswd line 4: invalid user name"))
        }
        #expect(try await admin.listUsers().isEmpty)
        // A good file: bob imported disabled.
        let result = try await admin.importUsers(htpasswd: "alice:\(alice)\nbob:!\(bob)\n", update: false)
        #expect(result == .init(added: ["alice", "bob"], updated: []))
        #expect(try await test.users.user("bob")?.disabled == true)
        #expect(Bcrypt.verify("a-pw", hash: try #require(try await test.users.user("alice")).passwordHash))
        // Again: they exist; --update replaces.
        await #expect(throws: AdminError.self) { _ = try await admin.importUsers(htpasswd: "bob:\(alice)\n", update: false) }
        #expect(try await admin.importUsers(htpasswd: "bob:\(alice)\n", update: true) == .init(added: [], updated: ["bob"]))
        #expect(try await test.users.user("bob") == UserRecord(name: "bob", passwordHash: alice, disabled: false))
        await #expect(throws: AdminError("nothing imported: no users in the file")) {
            _ = try await admin.importUsers(htpasswd: "# nobody\n", update: false)
        }
        // Export round-trips through import.
        try await admin.setDisabled("alice", true)
        let exported = try await admin.exportUsers()
        #expect(exported == "alice:!\(alice)\nbob:\(alice)\n")
        let other = AdminTests()
        #expect(try await other.admin.importUsers(htpasswd: exported, update: false).added == ["alice", "bob"])
        #expect(try await other.admin.exportUsers() == exported)
    }
}
