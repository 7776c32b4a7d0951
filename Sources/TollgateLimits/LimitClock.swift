import RegistryCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall time (for window labels) and monotonic time (for measuring), injectable for tests.
public struct LimitClock: Sendable {
    /// Nanoseconds since 1970 (UTC).
    public var wallNanos: @Sendable () -> Int64
    public var monotonic: @Sendable () -> UInt64

    public init(wallNanos: @escaping @Sendable () -> Int64, monotonic: @escaping @Sendable () -> UInt64) {
        self.wallNanos = wallNanos
        self.monotonic = monotonic
    }

    /// Whole seconds since 1970.
    public func wall() -> Int64 { floorDiv(wallNanos(), 1_000_000_000) }

    public static let system = LimitClock(
        wallNanos: {
            var ts = timespec()
            clock_gettime(CLOCK_REALTIME, &ts)
            return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
        },
        monotonic: {
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
        })
}
