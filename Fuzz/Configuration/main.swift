// TollgateConfiguration.parse(yaml:) — tollgate.yaml through Yams and the ConfigReader.
// A configuration that parses must satisfy everything the server relies on at startup.
import Foundation
@testable import RegistryCore
@testable import TollgateAuth
@testable import TollgateServer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfiguration(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let s = fuzzText(data, size)
    let c: TollgateConfiguration
    do {
        c = try TollgateConfiguration.parse(yaml: s)
    } catch let e as ConfigurationError {
        check(!e.problems.isEmpty, "error without problems", input: s)
        return 0
    } catch {
        check(false, "unexpected error type \(error)", input: s)
        return 0
    }
    check((try? TollgateConfiguration.parse(yaml: s)) == c, "not deterministic", input: s)
    check((0...65535).contains(c.listenPort) && !c.listenHost.isEmpty, "listen \(c.listenDescription)", input: s)
    check(!c.upstreams.isEmpty && c.upstreams[c.defaultUpstream] != nil, "default upstream missing", input: s)
    check(Set(c.upstreamOrder) == Set(c.upstreams.keys), "upstream order out of sync", input: s)
    for (name, u) in c.upstreams {
        check(ConfigValues.isRegistryHostName(name), "bad upstream key \(escaped(name))", input: s)
        check((try? RepositoryName(parsing: name)) != nil, "upstream key is no path component", input: s)
        check(ConfigValues.isHTTPURL(u.url), "bad upstream URL", input: s)
        check((u.username == nil) == (u.passwordFile == nil && u.passwordEnv == nil), "half credentials", input: s)
        for d in [u.manifestTTL, u.connectTimeout, u.firstByteTimeout, u.idleTimeout] {
            check(d >= .zero, "negative duration", input: s)
        }
    }
    let aliases = c.upstreams.values.flatMap(\.aliases)
    check(Set(aliases).count == aliases.count, "duplicate alias", input: s)
    check(c.plans[c.defaultPlan] != nil, "default plan missing", input: s)
    for (name, plan) in c.plans {
        check(plan.name == name && ConfigValues.isPlanName(name), "bad plan \(escaped(name))", input: s)
        check(plan.limits.values.values.allSatisfy { $0 >= 0 }, "negative limit", input: s)
    }
    check(c.auth.token.ttl >= .seconds(60), "token ttl below 60s", input: s)
    // auth.token.algorithm, log.level and log.format are enums: only their spellings parse.
    check(c.auth.lockoutFailures >= 1, "lockout failures", input: s)
    check((c.auth.allow + c.auth.deny).allSatisfy(AccessPolicy.isValidGlob), "invalid glob accepted", input: s)
    check(c.metrics.allow.allSatisfy { AddressRange($0) != nil }, "invalid metrics range accepted", input: s)
    check(!c.storage.path.isEmpty && (c.storage.maxSize ?? 0) >= 0 && c.storage.memoryCache >= 0, "storage", input: s)
    if let url = c.publicURL { check(ConfigValues.isHTTPURL(url), "bad public_url", input: s) }
    _ = c.publicURLWithoutSlash
    return 0
}
