import Foundation
import RegistryCore
import TollgateAuth
import TollgateLimits

/// The admin's use cases, over the ports: what `tollgate user|token|upstream|usage|cache …` do,
/// and what the server and the web console call for the same actions. The one place
/// each action and its cascade live; the CLI only parses arguments and prints.
public struct Admin: Sendable {
    public let stores: Stores
    /// What the configuration says that the use cases check against.
    public let policy: AdminPolicy
    /// Who acts (the audit log's "who" and "from where").
    public let actor: Actor

    /// Who changes something: a user of the console and their address, or the CLI.
    public struct Actor: Sendable, Equatable {
        public var name: String
        public var address: String
        public init(name: String, address: String) {
            self.name = name
            self.address = address
        }
        /// The shell on the server.
        public static let cli = Actor(name: "cli", address: "local")
    }

    public init(stores: Stores, policy: AdminPolicy, actor: Actor = .cli) {
        self.stores = stores
        self.policy = policy
        self.actor = actor
    }

    /// The same use cases, done by `actor`.
    public func acting(as actor: Actor) -> Admin { Admin(stores: stores, policy: policy, actor: actor) }

    /// Appends what was just done to the audit log.
    func audit(_ action: String, _ target: String, _ detail: String = "") async throws {
        try await stores.audit.appendAudit(
            AuditEntry(at: Date(), actor: actor.name, address: actor.address, action: action, target: target, detail: detail))
    }

    /// The audit log since `since`, oldest first (the newest `limit` when there are more).
    public func auditLog(since: Date, limit: Int) async throws -> [AuditEntry] {
        try await stores.audit.auditEntries(since: since, limit: limit)
    }

    /// The user's name, or "no user NAME" unless the user exists (a name no user can have
    /// included).
    @discardableResult
    public func requireUser(_ name: String) async throws -> UserName {
        guard let user = UserName(name), try await stores.users.user(name) != nil else { throw AdminError("no user \(name)") }
        return user
    }
}

/// The configuration's part in the admin's decisions.
public struct AdminPolicy: Sendable {
    /// Configured plans (built-in ones included) and the default.
    public var plans: [String: Plan]
    public var defaultPlan: String
    /// `auth.default_policy`.
    public var defaultAllow: [String]
    public var defaultDeny: [String]
    /// Configured upstream names, in configuration order.
    public var upstreams: [String]
    /// `storage.max_size`.
    public var maxCacheSize: Int64?
    /// A cluster node (`database:`): this cache is one of several.
    public var clustered: Bool

    public init(
        plans: [String: Plan], defaultPlan: String, defaultAllow: [String], defaultDeny: [String], upstreams: [String],
        maxCacheSize: Int64?, clustered: Bool = false
    ) {
        self.clustered = clustered
        self.plans = plans
        self.defaultPlan = defaultPlan
        self.defaultAllow = defaultAllow
        self.defaultDeny = defaultDeny
        self.upstreams = upstreams
        self.maxCacheSize = maxCacheSize
    }
}

/// A use case refused: one line for the admin ("no user bob").
public struct AdminError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Admin {
    var users: any UserStore { stores.users }
}
