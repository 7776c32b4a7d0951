import Foundation
import RegistryCore
import Testing

/// How a conformance suite gets stores of one engine (an adapter and its storage).
public struct Engine<Store: Sendable>: Sendable {
    /// A new, empty store, and how to open another instance over the same data: a restart (SQLite:
    /// a new `SQLiteStore` on the same path; in memory: the same instance).
    public let open: @Sendable () async throws -> (store: Store, reopen: @Sendable () async throws -> Store)

    public init(open: @escaping @Sendable () async throws -> (store: Store, reopen: @Sendable () async throws -> Store)) {
        self.open = open
    }

    /// An engine whose stores live at a path: `make` opens the store at a new path from
    /// `newPath`, and again at the same path for a restart.
    public static func located(at newPath: @escaping @Sendable () throws -> String, _ make: @escaping @Sendable (String) throws -> Store)
        -> Engine
    {
        Engine {
            let path = try newPath()
            return (try make(path), { try make(path) })
        }
    }

    /// An engine whose one instance is its data (in memory): reopening returns it.
    public static func instance(_ make: @escaping @Sendable () -> Store) -> Engine {
        Engine {
            let store = make()
            return (store, { store })
        }
    }
}

/// One named check of a suite: it opens the stores it needs.
public typealias Check = (name: String, run: () async throws -> Void)

/// A port's conformance suite: named checks on stores of one engine.
public protocol ConformanceSuite: Sendable {
    var checks: [Check] { get }
}

extension ConformanceSuite {
    /// Runs every check; a check that throws is recorded as an issue naming it, and the others
    /// still run.
    public func runAll() async throws {
        for check in checks {
            do {
                try await check.run()
            } catch {
                Issue.record("\(Self.self).\(check.name) threw: \(error)")
            }
        }
    }
}

/// `tasks` writers at once, each making `each` writes in turn (`body(task, i)`): they interleave.
func concurrently(tasks: Int = 2, each: Int = 50, _ body: @escaping @Sendable (Int, Int) async throws -> Void)
    async throws
{
    try await withThrowingTaskGroup(of: Void.self) { group in
        for task in 0..<tasks {
            group.addTask {
                for i in 0..<each {
                    try await body(task, i)
                    await Task.yield()
                }
            }
        }
        try await group.waitForAll()
    }
}

/// A distinct digest per number.
func testDigest(_ n: Int) -> Digest { Digest.sha256(of: Array("content \(n)".utf8)) }

/// A date at whole seconds (every engine keeps those exactly).
func at(_ seconds: Double) -> Date { Date(timeIntervalSince1970: seconds) }

/// A user name the suites know is valid.
func name(_ value: String) -> UserName { UserName(value)! }
