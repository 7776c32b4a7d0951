import Foundation

/// How much of one limit window a subject (`u:<user>` or `ip:<address group>`) has used.
public struct LimitWindowRecord: Sendable, Equatable, Codable {
    public var subject: String
    /// The window's kind (`pulls`, `bytes_day`, `bytes_month`).
    public var kind: String
    /// Unix seconds, UTC, where the window began.
    public var start: Int64
    public var used: Int64

    public init(subject: String, kind: String, start: Int64, used: Int64) {
        self.subject = subject
        self.kind = kind
        self.start = start
        self.used = used
    }
}

/// Limit windows that must survive a restart (limits): the latest state of each (subject, kind).
public protocol LimitWindowStore: Sendable {
    /// Replaces the stored state of each given (subject, kind), in one transaction.
    func saveLimitWindows(_ windows: [LimitWindowRecord]) async throws
    /// Windows that began at or after `start`.
    func limitWindows(since start: Int64) async throws -> [LimitWindowRecord]
    /// Removes windows that began before `start`.
    func pruneLimitWindows(before start: Int64) async throws
}
