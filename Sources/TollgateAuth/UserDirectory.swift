import Crypto
import Foundation
import Logging
import NIOPosix
import Synchronization

/// The users of one htpasswd file, reloaded when the file changes (checked at most every
/// `reloadInterval`), and password checks against them.
///
/// bcrypt runs on NIO's thread pool. A verified (user, password) pair is remembered for
/// `cacheTTL` under a keyed hash that also covers the stored hash, so a busy client doesn't pay
/// bcrypt on every request while a password change or removal takes effect immediately. Unknown
/// users pay one verify against a dummy hash whose cost is the median of the file's costs
/// (chosen again on every reload), so timing doesn't tell who exists.
public final class UserDirectory: Sendable {
    public let path: String
    let logger: Logger
    let reloadInterval: Duration
    let cacheTTL: Duration

    private struct Snapshot {
        var file = Htpasswd(text: "")
        var mtime: timespec = timespec()
        var size: Int64 = -1
        var checked: ContinuousClock.Instant?
        /// Checked for unknown users: no password matches it.
        var dummyHash = ""
    }
    private let snapshot = Mutex(Snapshot())
    private let verified = Mutex<[SHA256Digest: ContinuousClock.Instant]>([:])
    private let cacheKey = SymmetricKey(size: .bits256)
    /// The dummy hash's cost when the file has no users.
    static let defaultCost = 10

    public init(path: String, logger: Logger, reloadInterval: Duration = .milliseconds(500), cacheTTL: Duration = .seconds(300))
        throws
    {
        self.path = path
        self.logger = logger
        self.reloadInterval = reloadInterval
        self.cacheTTL = cacheTTL
        reloadIfChanged(force: true)
    }

    public enum Outcome: Sendable, Equatable {
        case valid(user: String)
        case invalid
        case disabled(user: String)
    }

    /// The current file (reloaded if it changed on disk).
    public var users: Htpasswd {
        reloadIfChanged()
        return snapshot.withLock { $0.file }
    }

    public func user(_ name: String) -> Htpasswd.User? { users.users[name] }

    /// The hash unknown users are checked against.
    public var dummyHash: String {
        reloadIfChanged()
        return snapshot.withLock { $0.dummyHash }
    }

    /// The median bcrypt cost of `file`'s users (the lower middle one of an even count), or
    /// `defaultCost` when it has none.
    public static func dummyCost(for file: Htpasswd) -> Int {
        let costs = file.users.values.compactMap { Bcrypt.cost(of: $0.hash) }.sorted()
        guard !costs.isEmpty else { return defaultCost }
        return costs[(costs.count - 1) / 2]
    }

    static func makeDummyHash(for file: Htpasswd) -> String {
        // gensalt fails only for a cost outside 4…31, which a parsed hash can't have.
        (try? Bcrypt.unmatchableHash(cost: dummyCost(for: file))) ?? "$2y$10$" + String(repeating: ".", count: 53)
    }

    /// Checks a password. Slow (bcrypt) unless the pair was verified recently.
    public func verify(user name: String, password: String) async -> Outcome {
        let (entry, dummy) = snapshotUser(name)
        let hash = entry?.hash ?? dummy
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

    private func snapshotUser(_ name: String) -> (Htpasswd.User?, String) {
        reloadIfChanged()
        return snapshot.withLock { ($0.file.users[name], $0.dummyHash) }
    }

    private func fingerprint(user: String, password: String, hash: String) -> SHA256Digest {
        var hmac = HMAC<SHA256>(key: cacheKey)
        for part in [user, password, hash] {
            hmac.update(data: Array(part.utf8))
            hmac.update(data: [0])
        }
        return SHA256.hash(data: Data(hmac.finalize()))
    }

    /// Re-reads the file when its size or modification time changed.
    public func reloadIfChanged(force: Bool = false) {
        let now = ContinuousClock.now
        let due = snapshot.withLock { s -> Bool in
            if !force, let c = s.checked, now - c < reloadInterval { return false }
            s.checked = now
            return true
        }
        guard due else { return }
        var st = stat()
        guard stat(path, &st) == 0 else {
            let hadUsers = snapshot.withLock { s -> Bool in
                let had = !s.file.users.isEmpty || s.size >= 0
                s.file = Htpasswd(text: "")
                s.size = -1
                if s.dummyHash.isEmpty || had { s.dummyHash = Self.makeDummyHash(for: s.file) }
                return had
            }
            if hadUsers || force { logger.warning("htpasswd file not readable; no users", metadata: ["path": "\(path)"]) }
            return
        }
        let unchanged = snapshot.withLock { s in
            s.size == Int64(st.st_size) && s.mtime.tv_sec == st.st_mtim.tv_sec && s.mtime.tv_nsec == st.st_mtim.tv_nsec
        }
        if unchanged, !force { return }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let file = Htpasswd(text: text)
        for p in file.problems { logger.error("\(p.description)", metadata: ["path": "\(path)"]) }
        let dummy = Self.makeDummyHash(for: file)
        snapshot.withLock { s in
            s.file = file
            s.dummyHash = dummy
            s.size = Int64(st.st_size)
            s.mtime = st.st_mtim
        }
        logger.info("htpasswd loaded", metadata: ["path": "\(path)", "users": "\(file.users.count)"])
    }
}
