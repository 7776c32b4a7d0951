import Foundation
import RegistryCore
import Logging
import Testing

@testable import TollgateAuth

struct ThrottleTests {
    static func fail(_ t: LoginThrottle, _ keys: [LoginThrottle.Key], now: ContinuousClock.Instant) {
        guard case .admitted(let slot) = t.tryBegin(keys, queue: false, now: now) else {
            Issue.record("not admitted")
            return
        }
        t.failed(slot, now: now)
    }

    @Test func locksAfterFailuresAndUnlocksAfterWindow() {
        let t = LoginThrottle(failures: 3, window: .seconds(60))
        let now = ContinuousClock.now
        for _ in 0..<3 { Self.fail(t, [.user("a"), .address("1")], now: now) }
        #expect(t.retryAfter([.user("a")], now: now + .seconds(10)) == 50)
        #expect(t.retryAfter([.address("1")], now: now) == 60)
        #expect(t.retryAfter([.user("b")], now: now) == nil)
        #expect(t.retryAfter([.user("a")], now: now + .seconds(61)) == nil)
        guard case .locked(50) = t.tryBegin([.user("a")], queue: false, now: now + .seconds(10)) else {
            Issue.record("not locked")
            return
        }
        // A success clears the user's failures (not the address's).
        Self.fail(t, [.user("c")], now: now)
        guard case .admitted(let slot) = t.tryBegin([.user("c")], queue: false, now: now) else {
            Issue.record("not admitted")
            return
        }
        t.succeeded(slot, userKey: .user("c"))
        Self.fail(t, [.user("c")], now: now)
        Self.fail(t, [.user("c")], now: now)
        #expect(t.retryAfter([.user("c")], now: now) == nil)
    }

    /// A right password among a burst of guesses that overflowed the slots is refused and locks
    /// the key; a burst of right passwords (one account's many clients at once) is not refused.
    @Test func aRightPasswordInABurstOfGuessesIsRefused() async {
        let t = LoginThrottle(failures: 3, window: .seconds(60), maxWait: .seconds(2), maxWaiting: 1)
        let keys: [LoginThrottle.Key] = [.user("v"), .address("1")]
        var slots: [LoginThrottle.Slot] = []
        for _ in 0..<3 {
            if case .admitted(let s) = t.tryBegin(keys, queue: false) { slots.append(s) }
        }
        guard case .busy(enqueued: true) = t.tryBegin(keys, queue: true) else { Issue.record("no waiting place"); return }
        guard case .busy(enqueued: false) = t.tryBegin(keys, queue: true) else { Issue.record("no overflow"); return }
        // slot 0 holds the right password; it is verified before the others fail
        let right = slots[0]
        async let verdict = t.settleSuccess(right, userKey: .user("v"))
        try? await Task.sleep(for: .milliseconds(50))
        t.failed(slots[1])
        t.failed(slots[2])
        #expect(await verdict == false)
        #expect(t.retryAfter([.user("v")]) != nil)

        let robots = LoginThrottle(failures: 3, window: .seconds(60), maxWait: .seconds(2), maxWaiting: 1)
        var good: [LoginThrottle.Slot] = []
        for _ in 0..<3 {
            if case .admitted(let s) = robots.tryBegin(keys, queue: false) { good.append(s) }
        }
        _ = robots.tryBegin(keys, queue: true)
        _ = robots.tryBegin(keys, queue: true)  // overflows
        let all = good
        let verdicts = await withTaskGroup(of: Bool.self) { group in
            for slot in all { group.addTask { await robots.settleSuccess(slot, userKey: .user("v")) } }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(verdicts == [true, true, true])
        #expect(robots.retryAfter([.user("v")]) == nil)
    }

    /// The rule: an attempt takes its slot before it is checked, so attempts in flight count.
    @Test func attemptsInFlightCountTowardFailures() {
        let t = LoginThrottle(failures: 3, window: .seconds(60))
        let now = ContinuousClock.now
        var slots: [LoginThrottle.Slot] = []
        for _ in 0..<3 {
            if case .admitted(let s) = t.tryBegin([.user("a"), .address("1")], queue: false, now: now) { slots.append(s) }
        }
        #expect(slots.count == 3)
        guard case .busy = t.tryBegin([.user("a"), .address("2")], queue: false, now: now) else {
            Issue.record("a fourth attempt in flight was admitted")
            return
        }
        guard case .busy = t.tryBegin([.user("b"), .address("1")], queue: false, now: now) else {
            Issue.record("the address's fourth attempt was admitted")
            return
        }
        // A success gives its slot back; failures keep theirs.
        t.succeeded(slots[0], userKey: .user("a"))
        t.failed(slots[1], now: now)
        t.failed(slots[2], now: now)
        guard case .admitted(let s) = t.tryBegin([.user("a")], queue: false, now: now) else {
            Issue.record("the freed slot was not given")
            return
        }
        t.failed(s, now: now)
        guard case .locked = t.tryBegin([.user("a")], queue: false, now: now) else {
            Issue.record("three failures did not lock")
            return
        }
    }

    /// 60 parallel attempts that all fail: exactly `failures` get checked, the rest are refused
    /// (after waiting for the slots, which end as failures).
    @Test func aBurstGetsAtMostFailuresVerdicts() async {
        let t = LoginThrottle(failures: 5, window: .seconds(60), maxWait: .seconds(2), maxWaiting: 20)
        let checked = await Self.count(60) {
            guard case .admitted(let slot) = await t.begin([.user("v"), .address("1")]) else { return false }
            try? await Task.sleep(for: .milliseconds(30))  // the bcrypt check
            t.failed(slot)
            return true
        }
        #expect(checked == 5)
        #expect(t.retryAfter([.user("v")]) != nil)
    }

    /// Attempts that succeed give their slots back, so parallel good logins queue, not fail.
    @Test func parallelGoodLoginsWaitForSlots() async {
        let t = LoginThrottle(failures: 2, window: .seconds(60), maxWait: .seconds(5), maxWaiting: 20)
        let admitted = await Self.count(12) {
            guard case .admitted(let slot) = await t.begin([.user("g"), .address("1")]) else { return false }
            try? await Task.sleep(for: .milliseconds(10))
            t.succeeded(slot, userKey: .user("g"))
            return true
        }
        #expect(admitted == 12)
    }

    /// Runs `attempt` `n` times in parallel; how many returned true.
    static func count(_ n: Int, _ attempt: @escaping @Sendable () async -> Bool) async -> Int {
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<n { group.addTask(operation: attempt) }
            var ok = 0
            for await result in group where result { ok += 1 }
            return ok
        }
    }
}
