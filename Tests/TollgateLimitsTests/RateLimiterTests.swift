import Foundation
import Synchronization
import RegistryCore
import Testing

@testable import TollgateLimits

/// A clock tests move by hand: `advance` moves both clocks, `stepWall` only the wall clock.
struct RateLimiterTests {
    @Test func pullsCountAndResetWithTheWindow() {
        let clock = ManualClock()
        let l = limiter([.pullsPer6h: 3], clock: clock)
        let alice = Principal.user(UserName("alice")!)
        for expected in [2, 1, 0] as [Int64] {
            let a = l.admit(alice, pull: true)
            #expect((try? a.get())?.pullsRemaining == expected)
            #expect((try? a.get())?.pullLimitHeader == "3;w=21600")
        }
        let refused = l.admit(alice, pull: true).failure
        #expect(refused?.kind == .pullsPer6h)
        #expect(refused.map { $0.retryAfter } == Int64(5 * 3600))
        #expect(refused?.registryError.code == .tooManyRequests)
        #expect(refused?.message.contains("3 pulls per 6 hours") == true)
        #expect(refused?.message.contains("2026-11-25T18:00:00Z") == true)
        // Not a pull (HEAD, blob): still allowed.
        #expect(l.admit(alice, pull: false).succeeded)
        // A refunded pull (failed manifest GET) can be used again.
        l.refundPull(alice)
        #expect(l.admit(alice, pull: true).succeeded)
        #expect(!l.admit(alice, pull: true).succeeded)
        clock.advance(5 * 3600)
        #expect(l.admit(alice, pull: true).succeeded)
    }

    @Test func requestRateIsABucket() {
        let clock = ManualClock()
        let l = limiter([.requestsPerMinute: 30], clock: clock)
        let bob = Principal.user(UserName("bob")!)
        for _ in 0..<30 { #expect(l.admit(bob, pull: false).succeeded) }
        let no = l.admit(bob, pull: false).failure
        #expect(no?.kind == .requestsPerMinute)
        #expect(no?.retryAfter == 2)  // 0.5 tokens per second
        clock.advance(2)
        #expect(l.admit(bob, pull: false).succeeded)
        #expect(!l.admit(bob, pull: false).succeeded)
    }

    @Test func refusedPullTakesNoRequestToken() {
        let clock = ManualClock()
        let l = limiter([.requestsPerMinute: 2, .pullsPer6h: 0], clock: clock)
        let s = Principal.user(UserName("c")!)
        #expect(l.admit(s, pull: true).failure?.kind == .pullsPer6h)
        #expect(l.admit(s, pull: false).succeeded)
        #expect(l.admit(s, pull: false).succeeded)
    }

    @Test func sixtyFourParallelWithThirtyLeftGiveThirty() async {
        let clock = ManualClock()
        let l = limiter([.pullsPer6h: 40, .requestsPerMinute: 1000], clock: clock)
        let s = Principal.user(UserName("p")!)
        for _ in 0..<10 { _ = l.admit(s, pull: true) }
        let admitted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<64 { group.addTask { l.admit(s, pull: true).succeeded } }
            var n = 0
            for await ok in group where ok { n += 1 }
            return n
        }
        #expect(admitted == 30)
        // Same for the request bucket, on threads rather than tasks.
        let r = limiter([.requestsPerMinute: 30], clock: clock)
        let count = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 64) { _ in
            if r.admit(.user(UserName("q")!), pull: false).succeeded { count.add(1, ordering: .relaxed) }
        }
        #expect(count.load(ordering: .relaxed) == 30)
    }

    @Test func stoppedOrBackwardClockGrantsNoMoreThanTheLimit() {
        let clock = ManualClock()
        let l = limiter([.requestsPerMinute: 10, .pullsPer6h: 5], clock: clock)
        let s = Principal.user(UserName("z")!)
        // Stopped clock: a thousand requests get exactly the bucket.
        var ok = 0
        for _ in 0..<1000 where l.admit(s, pull: false).succeeded { ok += 1 }
        #expect(ok == 10)
        // Monotonic clock jumps back an hour: nothing granted...
        clock.setMonotonic(5_000_000_000_000 - 3_600_000_000_000)
        #expect(!l.admit(s, pull: false).succeeded)
        // ...and time passing from there refills as usual (not denied until the old reading returns).
        clock.advance(6)
        #expect(l.admit(s, pull: false).succeeded)
        // Wall clock a day ahead: the pull window does not reset early.
        clock.advance(60)
        for _ in 0..<5 { #expect(l.admit(s, pull: true).succeeded) }
        clock.stepWall(86400)
        #expect(l.admit(s, pull: true).failure?.kind == .pullsPer6h)
    }

    @Test func byteQuotaAdmitsWhatFitsAndNeverCutsARunningTransfer() throws {
        let clock = ManualClock()
        let l = limiter([.bytesPerDay: 1000, .bytesPerMonth: 5000], clock: clock)
        let s = Principal.user(UserName("b")!)
        let first = try l.beginTransfer(s, bytes: 600).get()
        // In flight counts: 600 + 500 > 1000.
        let no = l.beginTransfer(s, bytes: 500).failure
        #expect(no?.kind == .bytesPerDay)
        #expect(no?.used == 600)
        #expect(no?.needed == 500)
        #expect(no?.message.contains("daily transfer quota") == true)
        let small = try l.beginTransfer(s, bytes: 400).get()
        first.finish(sent: 600)
        small.finish(sent: 400)
        #expect(l.status(s).bytesDay.used == 1000)
        #expect(l.precheckTransfer(s)?.kind == .bytesPerDay)
        // The next day: a new daily window, the monthly total goes on.
        clock.advance(11 * 3600)
        #expect(l.precheckTransfer(s) == nil)
        #expect(l.status(s).bytesMonth.used == 1000)
        // A transfer abandoned before sending (ticket dropped) gives back its reservation.
        do { _ = try l.beginTransfer(s, bytes: 900).get() }
        #expect(l.status(s).reservedBytes == 0)
        #expect(l.status(s).activeTransfers == 0)
    }

    @Test func concurrentTransfers() throws {
        let clock = ManualClock()
        let l = limiter([.concurrentTransfers: 2], clock: clock)
        let s = Principal.user(UserName("t")!)
        let a = try l.beginTransfer(s, bytes: 1).get()
        let b = try l.beginTransfer(s, bytes: 1).get()
        #expect(l.beginTransfer(s, bytes: 1).failure?.kind == .concurrentTransfers)
        #expect(l.beginTransfer(.user(UserName("other")!), bytes: 1).succeeded)
        a.finish(sent: 1)
        a.finish(sent: 1)  // finishing twice counts once
        #expect(l.status(s).bytesDay.used == 1)
        #expect(l.beginTransfer(s, bytes: 1).succeeded)
        _ = b
    }

    @Test func overridesAndSettingsChangesApply() {
        let clock = ManualClock()
        let l = limiter([.pullsPer6h: 1], clock: clock)
        let s = Principal.user(UserName("o")!)
        #expect(l.admit(s, pull: true).succeeded)
        #expect(!l.admit(s, pull: true).succeeded)
        l.plans.replace(["o": UserLimitSettings(overrides: [.pullsPer6h: 3])])
        let a = l.admit(s, pull: true)
        #expect((try? a.get())?.pullLimitHeader == "3;w=21600")
        #expect((try? a.get())?.pullsRemaining == 1)
        // An override of nil removes the limit; other users keep the plan's.
        l.plans.replace(["o": UserLimitSettings(overrides: [.pullsPer6h: Int64?.none])])
        for _ in 0..<10 { #expect(l.admit(s, pull: true).succeeded) }
        #expect((try? l.admit(s, pull: true).get())?.pullLimitHeader == nil)
        #expect(l.plans.limits(for: .user(UserName("x")!)).limits[.pullsPer6h] == 1)
        // A plan that no longer exists falls back to the default plan.
        l.plans.replace(["o": UserLimitSettings(plan: "gone")])
        #expect(l.plans.limits(for: s).plan == "p")
    }

    @Test func anonymousIsPerAddressGroup() {
        let clock = ManualClock()
        let l = limiter([:], clock: clock, anonymous: [.requestsPerMinute: 2])
        let a = Principal.anonymous(AddressGroup(address: "2001:db8:1:2::10"))
        let sameNet = Principal.anonymous(AddressGroup(address: "2001:db8:1:2:ffff::99"))
        #expect(a == sameNet)
        #expect(l.admit(a, pull: false).succeeded)
        #expect(l.admit(sameNet, pull: false).succeeded)
        #expect(!l.admit(a, pull: false).succeeded)
        #expect(l.admit(.anonymous(AddressGroup(address: "2001:db8:1:3::10")), pull: false).succeeded)
        #expect(l.admit(.anonymous(AddressGroup(address: "203.0.113.7")), pull: false).succeeded)
        #expect(l.admit(.user(UserName("u")!), pull: false).succeeded)  // users are not anonymous
    }

    @Test(arguments: [
        ("2001:db8:1:2:aa::1", "2001:db8:1:2::/64"), ("2001:db8::1", "2001:db8::/64"), ("::1", "0::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"), ("203.0.113.7", "203.0.113.7"), ("fe80::1%eth0", "fe80::1%eth0"),
    ])
    func addressGroups(_ address: String, _ group: String) {
        #expect(AddressGroup.group(address) == group)
    }

    @Test func windowsSurviveARestart() throws {
        let clock = ManualClock()
        let l = limiter([.pullsPer6h: 3, .bytesPerDay: 100], clock: clock)
        let s = Principal.user(UserName("r")!)
        for _ in 0..<3 { _ = l.admit(s, pull: true) }
        try l.beginTransfer(s, bytes: 60).get().finish(sent: 60)
        let stored = l.takeChangedWindows()
        #expect(stored.count == 3)
        #expect(l.takeChangedWindows().isEmpty)  // nothing new
        let again = limiter([.pullsPer6h: 3, .bytesPerDay: 100], clock: clock)
        again.restore(stored)
        #expect(again.admit(s, pull: true).failure?.kind == .pullsPer6h)
        #expect(again.beginTransfer(s, bytes: 50).failure?.kind == .bytesPerDay)
        // Stored windows of an earlier period don't count.
        clock.advance(6 * 3600)
        let later = limiter([.pullsPer6h: 3], clock: clock)
        later.restore(stored)
        #expect(later.admit(s, pull: true).succeeded)
    }

    @Test func idleSubjectsAreForgotten() {
        let clock = ManualClock()
        let l = limiter([:], clock: clock, anonymous: [.requestsPerMinute: 10])
        _ = l.admit(.anonymous(AddressGroup(address: "198.51.100.1")), pull: false)
        _ = l.takeChangedWindows()
        #expect(l.forgetIdle() == 1)  // bucket not full yet
        clock.advance(60)
        #expect(l.forgetIdle() == 0)
    }
}
