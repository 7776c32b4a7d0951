/// A set of limits; a missing limit is no limit of that kind.
public struct PlanLimits: Sendable, Equatable {
    public private(set) var values: [LimitKind: Int64] = [:]

    public init(_ values: [LimitKind: Int64] = [:]) { self.values = values }

    public subscript(kind: LimitKind) -> Int64? {
        get { values[kind] }
        set { values[kind] = newValue }
    }

    /// The limits with a user's overrides applied (an override of `nil` removes the limit).
    public func applying(_ overrides: [LimitKind: Int64?]) -> PlanLimits {
        var result = self
        for (kind, value) in overrides { result[kind] = value }
        return result
    }
}

/// A named plan from the configuration.
public struct Plan: Sendable, Equatable {
    public var name: String
    public var limits: PlanLimits

    public init(name: String, limits: PlanLimits) {
        self.name = name
        self.limits = limits
    }

    /// The plans a configuration starts from; plans of the same name in the file replace them.
    public static let builtIn: [String: Plan] = [
        "default": Plan(
            name: "default",
            limits: PlanLimits([
                .requestsPerMinute: 600, .pullsPer6h: 200, .bytesPerDay: 20 << 30, .bytesPerMonth: 300 << 30,
                .concurrentTransfers: 8,
            ])),
        "anonymous": Plan(
            name: "anonymous", limits: PlanLimits([.requestsPerMinute: 60, .pullsPer6h: 20, .bytesPerDay: 1 << 30])),
    ]
}

/// One user's plan choice and overrides, as the CLI stores them.
public struct UserLimitSettings: Sendable, Equatable {
    public var plan: String?
    public var overrides: [LimitKind: Int64?]

    public init(plan: String? = nil, overrides: [LimitKind: Int64?] = [:]) {
        self.plan = plan
        self.overrides = overrides
    }
}

/// The limits that apply to one subject, resolved from its plan and overrides, with the
/// header value for the pull limit formatted once.
public struct EffectiveLimits: Sendable, Equatable {
    public var plan: String
    public var limits: PlanLimits
    /// `RateLimit-Limit` value (`200;w=21600`), when there is a limit of the advertised kind
    /// (`LimitKind.advertised`: the pull limit).
    public let pullLimitHeader: String?

    public init(plan: String, limits: PlanLimits) {
        self.plan = plan
        self.limits = limits
        self.pullLimitHeader = LimitKind.advertised.flatMap { kind in
            limits[kind].map { "\($0);w=\(kind.period!.seconds)" }
        }
    }

    public static let unlimited = EffectiveLimits(plan: "unlimited", limits: PlanLimits())
}
