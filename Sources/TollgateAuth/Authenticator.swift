import Foundation
import RegistryCore
import Logging
import Synchronization

/// What a successful login presented: a password, or a personal access token (whose refresh
/// tokens must not outlive it).
public enum LoginOrigin: Sendable, Equatable {
    case password
    case personalToken(id: String, expires: Date?)
}

/// Who is asking.
public enum Identity: Sendable, Equatable {
    case anonymous
    case user(UserName)

    /// The user, nil for anonymous.
    public var user: UserName? {
        if case .user(let name) = self { return name }
        return nil
    }

    public var isAnonymous: Bool { self == .anonymous }

    /// The `sub` claim of this identity's bearer tokens (anonymous: empty).
    public var tokenSubject: String { user?.value ?? "" }

    /// The identity a token's `sub` names; nil when it names no possible user.
    public init?(tokenSubject sub: String) {
        if sub.isEmpty {
            self = .anonymous
        } else if let name = UserName(sub) {
            self = .user(name)
        } else {
            return nil
        }
    }
}

/// Logins (htpasswd passwords or personal access tokens, throttled), bearer tokens, and what
/// an identity is granted.
public final class Authenticator: Sendable {
    public let users: UserDirectory
    public let tokens: TokenService
    public let secrets: SecretTokens
    public let throttle: LoginThrottle
    public let anonymousAllowed: Bool
    public let policies: PolicyBook
    /// Roles and account end days (`user set --role/--expires`).
    public let accounts: AccountBook
    let logger: Logger
    /// Recently accepted Basic credentials by their raw (base64) value, with the stored hash they
    /// were checked against: a hit skips decoding and hashing, and is void once the hash changes.
    private let recentBasic = Mutex<[String: (user: String, storedHash: String, until: ContinuousClock.Instant)]>([:])
    /// Removed users: bearer tokens issued (`iat`) up to this Unix second (the removal's) are
    /// void, so a new user given the name doesn't inherit the old one's sessions.
    private let sessionsEnded = Mutex<[String: Int]>([:])
    /// Whether `sessionsEnded` has entries: the bearer hot path skips its lock while none.
    private let anySessionsEnded = Atomic<Bool>(false)

    public init(
        users: UserDirectory, tokens: TokenService, secrets: SecretTokens, throttle: LoginThrottle,
        anonymousAllowed: Bool, policies: PolicyBook, accounts: AccountBook = AccountBook(), logger: Logger
    ) {
        self.accounts = accounts
        self.users = users
        self.tokens = tokens
        self.secrets = secrets
        self.throttle = throttle
        self.anonymousAllowed = anonymousAllowed
        self.policies = policies
        self.logger = logger
    }

    public enum Login: Sendable, Equatable {
        case ok(Identity, via: LoginOrigin)
        case invalid
        /// Too many failures (or every attempt slot busy): retry after this many seconds.
        case locked(Int)
        /// The credentials could not be checked: their store failed (`error`).
        case unavailable(String)
        /// Right credentials, but the account ended on this day (`YYYY-MM-DD`).
        case expired(String)
    }

    /// Checks `user`/`password` (a personal access token counts as a password). Each attempt
    /// takes a slot of the user's and the client address's lockout budget before anything is
    /// checked (see `LoginThrottle`); a failure keeps it, a success gives it back.
    public func login(user: String, password: String, client: String?) async -> Login {
        let keys = LoginThrottle.Key.attempt(user: user, isPossibleName: Htpasswd.invalidName(user) == nil, client: client)
        let userKey = keys[0]
        let slot: LoginThrottle.Slot
        switch await throttle.begin(keys) {
        case .admitted(let s): slot = s
        case .refused(let wait): return .locked(wait)
        }
        var origin: LoginOrigin?
        if SecretTokens.looksLikeToken(password) {
            let record: SecretTokenRecord?
            do {
                record = try await secrets.verifyPersonal(password)
            } catch {
                throttle.undecided(slot)
                logger.error("personal token not checked: its store failed", metadata: ["user": "\(user)", "error": "\(error)"])
                return .unavailable("\(error)")
            }
            if let record, record.user == user, let u = await users.user(user), !u.disabled {
                origin = .personalToken(id: record.id, expires: record.expires)
            }
        } else if case .valid = await users.verify(user: user, password: password) {
            origin = .password
        }
        guard let origin else {
            throttle.failed(slot)
            logger.notice("login failed", metadata: ["user": "\(user)", "client": "\(client ?? "-")"])
            return .invalid
        }
        guard await throttle.settleSuccess(slot, userKey: userKey) else {
            logger.notice("login refused: right password in a burst of failed guesses", metadata: ["user": "\(user)", "client": "\(client ?? "-")"])
            return .locked(Int((throttle.window / .seconds(1)).rounded(.up)))
        }
        // A user the store knows has a valid name.
        guard let name = UserName(user) else { return .invalid }
        if let day = accounts.expired(user) { return .expired(day) }
        return .ok(.user(name), via: origin)
    }

    /// The user of Basic credentials accepted in the last minute, if they still hold: same
    /// stored hash, user enabled, no lockout.
    public func recentlyAccepted(basic raw: String, client: String?) async -> UserName? {
        let now = ContinuousClock.now
        guard let hit = recentBasic.withLock({ $0[raw] }), hit.until > now,
            let u = await users.user(hit.user), !u.disabled, u.passwordHash == hit.storedHash,
            accounts.expired(hit.user) == nil,
            throttle.retryAfter(LoginThrottle.Key.attempt(user: hit.user, isPossibleName: true, client: client)) == nil
        else { return nil }
        return UserName(hit.user)
    }

    /// Remembers Basic credentials that just passed `login` (passwords only, not tokens, which
    /// can be revoked).
    public func remember(basic raw: String, user: String, password: String) async {
        guard !SecretTokens.looksLikeToken(password), let u = await users.user(user) else { return }
        let now = ContinuousClock.now
        recentBasic.withLock { r in
            if r.count > 10_000 { r = r.filter { $0.value.until > now } }
            r[raw] = (user, u.passwordHash, now + .seconds(60))
        }
    }

    /// Whether `user` exists, is enabled and has not expired now (tokens of removed users stop
    /// working at once).
    public func isActive(_ user: String) async -> Bool {
        guard let u = await users.user(user) else { return false }
        return !u.disabled && accounts.expired(user) == nil
    }

    /// Voids `user`'s bearer tokens issued up to `removed` (the user was deleted then).
    public func endSessions(of name: UserName, removed: Date) {
        let user = name.value
        let t = Int(removed.timeIntervalSince1970.rounded(.down))
        sessionsEnded.withLock { $0[user] = max($0[user] ?? t, t) }
        anySessionsEnded.store(true, ordering: .releasing)
    }

    /// A bearer token's identity and grants, or why it is refused.
    public func bearer(_ token: String) async -> Result<(Identity, [AccessEntry]), TokenService.Rejection> {
        do {
            let claims = try await tokens.verify(token)
            if !claims.sub.isEmpty, await !isActive(claims.sub) {
                return .failure(.init(description: "user no longer active"))
            }
            if !claims.sub.isEmpty, anySessionsEnded.load(ordering: .acquiring),
                let ended = sessionsEnded.withLock({ $0[claims.sub] }), claims.iat <= ended
            {
                return .failure(.init(description: "token of a removed user"))
            }
            guard let identity = Identity(tokenSubject: claims.sub) else {
                return .failure(.init(description: "invalid subject"))
            }
            if identity.isAnonymous, !anonymousAllowed { return .failure(.init(description: "anonymous access is off")) }
            return .success((identity, claims.access))
        } catch {
            return .failure((error as? TokenService.Rejection) ?? .init(description: "invalid token"))
        }
    }

    /// What `identity` gets of the requested scopes: pull on the repositories its policy allows
    /// (a token never grants more than the policy). `canonical`: see `AccessPolicy.grant`.
    public func grant(_ identity: Identity, scopes: [Scope], canonical: (RepositoryName) -> String?) -> [AccessEntry] {
        let policy = policies.policy(for: identity.user)
        var granted: [AccessEntry] = []
        for s in scopes {
            if let entry = policy.grant(s, canonical: canonical), !granted.contains(entry) { granted.append(entry) }
        }
        return granted
    }
}
