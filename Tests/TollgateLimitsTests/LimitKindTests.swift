import Testing
import TollgateStorage

@testable import TollgateLimits

/// Each limit kind's refusal, as clients see it (message, detail, Retry-After).
struct LimitRefusalTests {
    @Test(arguments: [
        (
            LimitExceeded(kind: .requestsPerMinute, plan: "free", limit: 60, retryAfter: 2),
            "request rate limit reached: 60 requests per minute (plan free); retry in 2 s", "requests_per_minute"
        ),
        (
            LimitExceeded(kind: .pullsPer6h, plan: "free", limit: 3, retryAfter: 9480, resetsAt: 1_795_629_600),
            "pull rate limit reached: 3 pulls per 6 hours (plan free); resets in 2 h 38 min at 2026-11-25T18:00:00Z",
            "pulls_per_6h"
        ),
        (
            LimitExceeded(
                kind: .bytesPerDay, plan: "free", limit: 1024, retryAfter: 39600, resetsAt: 1_795_651_200, used: 1000,
                needed: 500),
            "daily transfer quota reached: 1000 B of 1 KiB used (plan free), this blob needs 500 B; resets in 11 h 0 min at 2026-11-26T00:00:00Z",
            "bytes_per_day"
        ),
        (
            LimitExceeded(
                kind: .bytesPerMonth, plan: "pro", limit: 5 << 30, retryAfter: 472800, resetsAt: 1_796_083_200,
                used: 5 << 30),
            "monthly transfer quota reached: 5 GiB of 5 GiB used (plan pro); resets in 5 d 11 h at 2026-12-01T00:00:00Z",
            "bytes_per_month"
        ),
        (
            LimitExceeded(kind: .concurrentTransfers, plan: "free", limit: 2, retryAfter: 1),
            "too many simultaneous downloads: 2 allowed (plan free); retry when one finishes", "concurrent_transfers"
        ),
    ])
    func refusal(_ no: LimitExceeded, _ message: String, _ detail: String) {
        #expect(no.message == message)
        #expect(no.registryError.message == message)
        #expect(no.registryError.detail == detail)
        #expect(no.registryError.retryAfter == Int(no.retryAfter))
    }
}
