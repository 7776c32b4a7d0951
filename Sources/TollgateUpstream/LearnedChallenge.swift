import Logging
import RegistryCore
import Synchronization

/// How an upstream asks for credentials, learned only from its own origin (its `/v2/` or its own
/// 401s, never a redirect target's): Basic, or a Bearer token from a realm pinned once learned.
final class LearnedChallenge: Sendable {
    /// Set once the upstream has answered with a Basic challenge.
    private let basic = Atomic<Bool>(false)
    /// The upstream's Bearer challenge (realm, service), pinned: with it a token for a new scope
    /// is fetched before the request instead of after a 401 round trip, and no later response can
    /// send credentials to another realm.
    private let realm = Mutex<TokenRealm?>(nil)
    /// Set once a realm other than the pinned one was announced (warned about once).
    private let realmConflictLogged = Atomic<Bool>(false)
    /// Whether `/v2/` has been asked how this upstream authenticates.
    private let pinged = Atomic<Bool>(false)
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    var usesBasic: Bool { basic.load(ordering: .relaxed) }
    func noteBasic() { basic.store(true, ordering: .relaxed) }

    var tokenRealm: TokenRealm? { realm.withLock { $0 } }

    /// True for the one caller that is to ask `/v2/` (until `pingFailed`).
    func claimPing() -> Bool { !pinged.exchange(true, ordering: .relaxed) }
    /// The upstream was unreachable: ask again next time.
    func pingFailed() { pinged.store(false, ordering: .relaxed) }

    /// Learns from a 401 of the upstream's own origin. The first Bearer realm is pinned: a later,
    /// different one is not followed (the upstream may announce a realm on another host, as Docker
    /// Hub does, but not switch it silently); a restart learns it anew.
    func learn(_ challenges: [AuthChallenge]) {
        if let b = challenges.first(where: \.isBearer), let announced = b.realm {
            let pinned = realm.withLock { known -> String in
                if let current = known { return current.realm }
                known = TokenRealm(realm: announced, service: b.service)
                return announced
            }
            if pinned != announced, !realmConflictLogged.exchange(true, ordering: .relaxed) {
                logger.warning(
                    "upstream announced another token realm; keeping the one learned first (restart to switch)",
                    metadata: ["pinned": "\(pinned)", "announced": "\(announced)"])
            }
        } else if challenges.contains(where: \.isBasic) {
            noteBasic()
        }
    }
}
