import Crypto
import Foundation
import Logging
import RegistryCore
import NIOPosix
import Synchronization

/// The users of a `UserStore`, reloaded when its version moves (asked at most every
/// `reloadInterval`), and password checks against them.
///
/// bcrypt runs on NIO's thread pool. A verified (user, password) pair is remembered for
/// `cacheTTL` under a keyed hash that also covers the stored hash, so a busy client doesn't pay
/// bcrypt on every request while a password change or removal takes effect immediately. Unknown
/// users pay one verify against a dummy hash whose cost is the median of the users' costs
/// (chosen again on every reload), so timing doesn't tell who exists.
public final class UserDirectory: Sendable {
    public let store: any UserStore
    let logger: Logger
    let reloadInterval: Duration
    let cacheTTL: Duration

    /// What the snapshot holds of the store.
    private enum Loaded: Equatable {
        case never
        case unreadable
        case version(String)
    }

    private struct Snapshot {
        var users: [String: UserRecord] = [:]
        var loaded = Loaded.never
        var checked: ContinuousClock.Instant?
        /// Checked for unknown users: no password matches it.
        var dummyHash = ""
    }
    private let snapshot = Mutex(Snapshot())
    /// Version checks failing in a row (logged once per outage).
    private let unreadable = FailureSpell()
    private let verified = Mutex<[SHA256Digest: ContinuousClock.Instant]>([:])
    private let cacheKey = SymmetricKey(size: .bits256)
    /// The dummy hash's cost when there are no users.
    static let defaultCost = 10

    public init(
        store: any UserStore, logger: Logger, reloadInterval: Duration = .milliseconds(500),
        cacheTTL: Duration = .seconds(300)
    ) async {
        self.store = store
        self.logger = logger
        self.reloadInterval = reloadInterval
        self.cacheTTL = cacheTTL
        await reloadIfChanged(force: true)
    }

    public enum Outcome: Sendable, Equatable {
        case valid(user: String)
        case invalid
        case disabled(user: String)
    }

    /// The current users (reloaded if the store changed).
    public func users() async -> [String: UserRecord] {
        await reloadIfChanged()
        return snapshot.withLock { $0.users }
    }

    public func user(_ name: String) async -> UserRecord? {
        await reloadIfChanged()
        return snapshot.withLock { $0.users[name] }
    }

    /// The hash unknown users are checked against.
    public func dummyHash() async -> String {
        await reloadIfChanged()
        return snapshot.withLock { $0.dummyHash }
    }

    /// The median bcrypt cost of `users` (the lower middle one of an even count), or
    /// `defaultCost` when there are none.
    public static func dummyCost(for users: some Collection<UserRecord>) -> Int {
        let costs = users.compactMap { Bcrypt.cost(of: $0.passwordHash) }.sorted()
        guard !costs.isEmpty else { return defaultCost }
        return costs[(costs.count - 1) / 2]
    }

    static func makeDummyHash(for users: some Collection<UserRecord>) -> String {
        // gensalt fails only for a cost outside 4…31, which a parsed hash can't have.
        (try? Bcrypt.unmatchableHash(cost: dummyCost(for: users))) ?? "$2y$10$" + String(repeating: ".", count: 53)
    }

    /// Checks a password. Slow (bcrypt) unless the pair was verified recently.
    public func verify(user name: String, password: String) async -> Outcome {
        let (entry, dummy) = await snapshotUser(name)
        let hash = entry?.passwordHash ?? dummy
        let key = fingerprint(user: name, password: password, hash: hash)
        let now = ContinuousClock.now
        if entry != nil, let until = verified.withLock({ $0[key] }), until > now {
            return entry!.disabled ? .disabled(user: name) : .valid(user: name)
        }
        let ok = (try? await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }) ?? false
        guard ok, let entry else { return .invalid }
        verified.withLock { v in
            if v.count > 10_000 { v = v.filter { $0.value > now } }
            v[key] = now + cacheTTL
        }
        return entry.disabled ? .disabled(user: name) : .valid(user: name)
    }

    private func snapshotUser(_ name: String) async -> (UserRecord?, String) {
        await reloadIfChanged()
        return snapshot.withLock { ($0.users[name], $0.dummyHash) }
    }

    private func fingerprint(user: String, password: String, hash: String) -> SHA256Digest {
        var hmac = HMAC<SHA256>(key: cacheKey)
        for part in [user, password, hash] {
            hmac.update(data: Array(part.utf8))
            hmac.update(data: [0])
        }
        return SHA256.hash(data: Data(hmac.finalize()))
    }

    /// Re-reads the users when the store's version moved (asked at most every `reloadInterval`
    /// unless `force`d).
    public func reloadIfChanged(force: Bool = false) async {
        let now = ContinuousClock.now
        let due = snapshot.withLock { s -> Bool in
            if !force, let c = s.checked, now - c < reloadInterval { return false }
            s.checked = now
            return true
        }
        guard due else { return }
        let version: String?
        do {
            version = try await store.version()
        } catch {
            if unreadable.failed() {
                logger.error("user store not readable; keeping the users loaded", metadata: ["store": "\(store.location)", "error": "\(error)"])
            }
            return
        }
        if unreadable.succeeded() {
            logger.notice("user store readable again", metadata: ["store": "\(store.location)"])
        }
        guard let version else {
            let hadUsers = snapshot.withLock { s -> Bool in
                let had: Bool
                if case .version = s.loaded { had = true } else { had = !s.users.isEmpty }
                s.users = [:]
                s.loaded = .unreadable
                if s.dummyHash.isEmpty || had { s.dummyHash = Self.makeDummyHash(for: [UserRecord]()) }
                return had
            }
            if hadUsers || force {
                logger.warning("user store not readable; no users", metadata: ["store": "\(store.location)"])
            }
            return
        }
        let unchanged = snapshot.withLock { $0.loaded == .version(version) }
        if unchanged, !force { return }
        guard let listing = try? await store.listUsers() else { return }
        for p in listing.problems { logger.error("\(p)", metadata: ["store": "\(store.location)"]) }
        let dummy = Self.makeDummyHash(for: listing.users.values)
        snapshot.withLock { s in
            s.users = listing.users
            s.dummyHash = dummy
            s.loaded = .version(version)
        }
        logger.info("users loaded", metadata: ["store": "\(store.location)", "users": "\(listing.users.count)"])
    }
}
