import Foundation
import Testing

@testable import TollgateServer

struct ClusterConfigurationTests {
    @Test func databaseAndClusterParse() throws {
        let c = try TollgateConfiguration.parse(
            yaml: """
                database: {url: "postgres://tollgate@db.internal:6543/mirror?sslmode=require", password_file: /etc/db.pw}
                cluster: {node: tg-1, advertise_url: "http://10.0.0.11:5000", secret_file: /etc/cluster.secret}
                """)
        let d = try #require(c.database)
        #expect(d.host == "db.internal" && d.port == 6543 && d.user == "tollgate" && d.name == "mirror")
        #expect(d.tls == .require && d.passwordFile == "/etc/db.pw" && d.passwordEnv == nil)
        #expect(c.cluster == .init(node: "tg-1", advertiseURL: "http://10.0.0.11:5000", secretFile: "/etc/cluster.secret"))
        let plain = try TollgateConfiguration.parse(yaml: "storage: {path: ./d}")
        #expect(plain.database == nil && plain.cluster == nil)
    }

    @Test(arguments: [
        (#"database: {url: "postgres://u:secret@h/db"}"#, "database.url: the password does not go in the URL"),
        (#"database: {url: "mysql://u@h/db"}"#, "database.url: expected postgres://"),
        (#"database: {url: "postgres://h/db"}"#, "database.url: no user"),
        (#"database: {url: "postgres://u@h"}"#, "database.url: no database name"),
        (#"database: {url: "postgres://u@h/db?sslmode=maybe"}"#, "database.url: sslmode: one of disable, require, verify-full"),
        (#"database: {url: "postgres://u@h/db?host=x"}"#, "database.url: unknown parameter host"),
        (#"database: {password_file: x}"#, "database.url: required"),
        (#"database: {url: "postgres://u@h/db", password: hunter2}"#, "database.password: passwords are not kept"),
        (#"database: {url: "postgres://u@h/db", password_file: a, password_env: B}"#, "database: password_file and password_env: give one"),
        (#"database: {url: "postgres://u@h/db"}"#, "cluster: required with database:"),
        ("cluster: {node: n, secret_file: s}", "database: required with cluster:"),
        (#"cluster: {node: "a b", secret_file: s}"#, "cluster.node: 1 to 64 letters"),
        ("cluster: {node: n}", "cluster.secret_file: required"),
        ("cluster: {node: n, secret_file: s, advertise_url: ftp://x}", "cluster.advertise_url: not an http(s) URL"),
        ("cluster: {node: n, secret_file: s, colour: red}", "cluster.colour: unknown key"),
    ])
    func badSectionsNameTheirKey(yaml: String, problem: String) {
        do {
            _ = try TollgateConfiguration.parse(yaml: yaml)
            Issue.record("accepted: \(yaml)")
        } catch let e as ConfigurationError {
            #expect(e.problems.contains { $0.hasPrefix(problem) }, "\(e.problems) lacks \(problem)")
        } catch {
            Issue.record("\(error)")
        }
    }
}
