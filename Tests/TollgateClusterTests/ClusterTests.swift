import Foundation
import Logging
import Testing
import TollgateCluster

struct ForwardSignerTests {
    let signer = ForwardSigner(secret: "cluster secret")
    let who = ForwardedCaller(node: "n1", user: "alice", client: "10.0.0.7")
    let target = "/v2/library/alpine/blobs/sha256:abc?ns=docker.io"

    @Test func aSignedRequestNamesItsCaller() {
        let header = signer.sign(method: "GET", target: target, for: who, at: 1000)
        #expect(signer.verify(header, method: "GET", target: target, now: 1010) == who)
        let anonymous = ForwardedCaller(node: "n2", user: nil, client: nil)
        let h2 = signer.sign(method: "HEAD", target: target, for: anonymous, at: 1000)
        #expect(signer.verify(h2, method: "HEAD", target: target, now: 1000) == anonymous)
    }

    @Test func anythingChangedIsRefused() {
        let header = signer.sign(method: "GET", target: target, for: who, at: 1000)
        #expect(signer.verify(header, method: "HEAD", target: target, now: 1000) == nil)
        #expect(signer.verify(header, method: "GET", target: target + "x", now: 1000) == nil)
        #expect(signer.verify(header.replacingOccurrences(of: "user=alice", with: "user=admin"), method: "GET", target: target, now: 1000) == nil)
        #expect(signer.verify(header.replacingOccurrences(of: "t=1000", with: "t=1001"), method: "GET", target: target, now: 1000) == nil)
        #expect(ForwardSigner(secret: "another").verify(header, method: "GET", target: target, now: 1000) == nil)
        // Too old or from the future.
        #expect(signer.verify(header, method: "GET", target: target, now: 1031) == nil)
        #expect(signer.verify(header, method: "GET", target: target, now: 969) == nil)
    }

    static let malformed = [
        "", "v1", "v1 node=n1 user=a client=- t=1 sig=", "v2 node=n1 user=a client=- t=1 sig=x",
        "v1 node= user=a client=- t=1 sig=x", "v1 node=n1 user=a t=1 sig=x", String(repeating: "v1 ", count: 300),
    ]

    @Test func malformedHeadersAreRefused() {
        for header in Self.malformed { #expect(signer.verify(header, method: "GET", target: target, now: 1) == nil) }
    }
}

struct RendezvousTests {
    let nodes = ["n1", "n2", "n3"].map { NodeRecord(name: $0, url: "http://\($0)") }

    @Test func everyNodeAgreesAndTheKeysSpreadEvenly() {
        var owned: [String: Int] = [:]
        for i in 0..<3000 {
            let key = "sha256:\(i)"
            let owner = Rendezvous.owner(of: key, among: nodes)!
            #expect(Rendezvous.owner(of: key, among: nodes.reversed()) == owner)
            owned[owner.name, default: 0] += 1
        }
        for (_, n) in owned { #expect(n > 850 && n < 1150, "\(owned)") }
        #expect(Rendezvous.owner(of: "x", among: []) == nil)
    }

    @Test func onlyTheKeysOfANodeThatLeavesMove() {
        let two = nodes.filter { $0.name != "n2" }
        for i in 0..<1000 {
            let key = "k\(i)"
            let before = Rendezvous.owner(of: key, among: nodes)!
            let after = Rendezvous.owner(of: key, among: two)!
            if before.name != "n2" { #expect(after == before) }
        }
    }
}

/// A node store whose heartbeat answers a scripted list of live nodes.
final class ScriptedNodeStore: NodeStore, @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [[NodeRecord]]
    init(_ answers: [[NodeRecord]]) { self.answers = answers }
    func heartbeat(_ node: NodeRecord, deadAfter: Double) async throws -> [NodeRecord] {
        lock.withLock { answers.count > 1 ? answers.removeFirst() : answers[0] }
    }
    func leave(node: String) async throws {}
}

struct MembershipTests {
    static let a = NodeRecord(name: "a", url: "http://a"), b = NodeRecord(name: "b", url: "http://b")
    static let c = NodeRecord(name: "c", url: "http://c")

    /// A node left out of one list (its heartbeat late) still counts among those that may be
    /// serving for a while: a degraded node divides by them and asks them all.
    @Test func nodesSeenLatelyOutlastOneList() async throws {
        let m = Membership(
            me: Self.a, store: ScriptedNodeStore([[Self.a, Self.b, Self.c], [Self.a, Self.b]]),
            logger: .init(label: "t"))
        try await m.beat()
        try await m.beat()
        #expect(m.liveNodes.map(\.name) == ["a", "b"])
        #expect(m.recentNodes().map(\.name) == ["a", "b", "c"] && m.recentCount == 3)
        try await Task.sleep(for: .milliseconds(60))
        #expect(m.recentNodes(within: .milliseconds(50)).map(\.name) == ["a"], "only this node is recent after the window")
    }
}
