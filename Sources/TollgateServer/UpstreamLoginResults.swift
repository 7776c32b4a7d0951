import Foundation
import Logging
import RegistryCore
import Synchronization
import TollgateAuth

/// Whether upstreams accepted users' own credentials at their last use, written to the upstream
/// secret store (the console shows it): when the result changes, else at most once a minute per
/// user and upstream. Best effort: a failed write is logged, the pull goes on.
final class UpstreamLoginResults: Sendable {
    private let store: any UpstreamSecretStore
    private let logger: Logger
    private let written = Mutex<[String: (accepted: Bool, at: ContinuousClock.Instant)]>([:])

    init(store: any UpstreamSecretStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    func note(_ user: UserName, _ upstream: UpstreamName, accepted: Bool) {
        let key = user.value + "\u{0}" + upstream.value
        let now = ContinuousClock.now
        let due = written.withLock { w -> Bool in
            if let last = w[key], last.accepted == accepted, now - last.at < .seconds(60) { return false }
            w[key] = (accepted, now)
            return true
        }
        guard due else { return }
        let store = self.store, logger = self.logger
        Task {
            do {
                try await store.noteUpstreamSecretResult(
                    user: user.value, upstream: upstream.value, .init(accepted: accepted, at: Date()))
            } catch {
                logger.notice(
                    "could not note an upstream login's result",
                    metadata: ["user": "\(user)", "upstream": "\(upstream)", "error": "\(error)"])
            }
        }
        if !accepted {
            logger.notice("upstream refused a user's own credentials", metadata: ["user": "\(user)", "upstream": "\(upstream)"])
        }
    }
}
