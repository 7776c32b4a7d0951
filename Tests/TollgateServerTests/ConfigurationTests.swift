import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import RegistryCore
import Testing
import TollgateTestSupport
import TollgateAuth
import TollgateLimits
import NIOCore
import Prometheus

@testable import TollgateServer

struct ConfigurationTests {
    @Test func fullExampleParses() throws {
        let c = try TollgateConfiguration.parse(
            yaml: """
                listen: "127.0.0.1:5001"
                public_url: https://mirror.example
                storage: {path: /tmp/x, max_size: 50GiB}
                upstreams:
                  docker.io:
                    url: https://registry-1.docker.io
                    aliases: [docker.mirror.example]
                    manifest_ttl: 10m
                  ghcr.io: {url: "https://ghcr.io"}
                default_upstream: docker.io
                auth: {anonymous: false}
                log: {level: debug, format: json}
                """)
        #expect(c.listenHost == "127.0.0.1")
        #expect(c.listenPort == 5001)
        #expect(c.storage.maxSize == 50 << 30)
        #expect(c.upstreams["docker.io"]?.manifestTTL == .seconds(600))
        #expect(c.upstreams["docker.io"]?.aliases == ["docker.mirror.example"])
        #expect(c.upstreamOrder == ["docker.io", "ghcr.io"])
        #expect(c.publicURLWithoutSlash == "https://mirror.example")
    }

    @Test func maxBlobSizeHasASafeDefaultAndIsValidated() throws {
        #expect(try TollgateConfiguration.parse(yaml: "storage: {path: /tmp/x}").storage.maxBlobSize == 10 << 30)
        #expect(try TollgateConfiguration.parse(yaml: "storage: {max_blob_size: 2GiB}").storage.maxBlobSize == 2 << 30)
        for (value, needle) in [("lots", "storage.max_blob_size: not a size"), ("10KiB", "storage.max_blob_size: must be at least 1MiB")] {
            do {
                _ = try TollgateConfiguration.parse(yaml: "storage: {max_blob_size: \(value)}")
                Issue.record("accepted max_blob_size \(value)")
            } catch let e as ConfigurationError {
                #expect(e.problems.joined(separator: "\n").contains(needle))
            }
        }
    }

    @Test func problemsNameTheirKeyPath() {
        do {
            _ = try TollgateConfiguration.parse(
                yaml: """
                    listen: nonsense
                    storage: {path: /x, colour: blue}
                    upstreams:
                      ghcr.io: {url: "not a url", manifest_ttl: forever}
                      Bad_Key: {url: "https://x"}
                    default_upstream: quay.io
                    surprise: 1
                    """)
            Issue.record("accepted")
        } catch let e as ConfigurationError {
            let text = e.problems.joined(separator: "\n")
            for needle in [
                "listen:", "storage.colour: unknown key", "upstreams.ghcr.io.url: not a URL",
                "upstreams.ghcr.io.manifest_ttl: not a duration", "upstreams.Bad_Key:", "default_upstream:",
                "surprise: unknown key",
            ] {
                #expect(text.contains(needle), "missing \(needle) in \(text)")
            }
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func fixedSetsAreEnumsAndNestedSectionsNameTheirPath() throws {
        let c = try TollgateConfiguration.parse(yaml: "log: {level: debug, format: json}\nauth: {token: {algorithm: RS256}}")
        #expect(c.log.level == .debug && c.log.format == .json && c.auth.token.algorithm == .rs256)
        #expect(throws: ConfigurationError.self) { try TollgateConfiguration.parse(yaml: "tls: [a]") }
        do {
            _ = try TollgateConfiguration.parse(
                yaml: """
                    log: {level: verbose, format: xml, colour: red}
                    auth: {token: {algorithm: HS256, salt: x}, lockout: {failures: 0, mood: y}, default_policy: {maybe: []}}
                    limits: {enabled: perhaps, later: 1}
                    tls: {http2: true}
                    """)
            Issue.record("accepted")
        } catch let e as ConfigurationError {
            let text = e.problems.joined(separator: "\n")
            for needle in [
                "log.level: expected one of trace, debug, info, notice, warning, error, critical",
                "log.format: expected text or json", "log.colour: unknown key",
                "auth.token.algorithm: expected ES256 or RS256", "auth.token.salt: unknown key",
                "auth.lockout.failures: must be at least 1", "auth.lockout.mood: unknown key",
                "auth.default_policy.maybe: unknown key", "limits.enabled: expected true or false",
                "limits.later: unknown key", "tls.certificate: required", "tls.key: required",
            ] {
                #expect(text.contains(needle), "missing \(needle) in \(text)")
            }
        }
    }

    @Test func plansReplaceBuiltInsAndLeaveOutMeansUnlimited() throws {
        let c = try TollgateConfiguration.parse(
            yaml: """
                plans:
                  free: {requests_per_minute: 60, pulls_per_6h: 3, bytes_per_day: 1GiB, bytes_per_month: "10GiB", concurrent_transfers: 2}
                  anonymous: {}
                  open:
                default_plan: free
                metrics: {allow: ["10.0.0.0/8", "::1"]}
                """)
        #expect(c.defaultPlan == "free")
        #expect(c.plans["free"]?.limits[.bytesPerDay] == 1 << 30)
        #expect(c.plans["free"]?.limits[.pullsPer6h] == 3)
        #expect(c.plans["anonymous"]?.limits == PlanLimits())
        #expect(c.plans["open"]?.limits == PlanLimits())
        #expect(c.plans["default"]?.limits[.pullsPer6h] == 200)  // built in, not replaced
        #expect(c.metrics.allow == ["10.0.0.0/8", "::1"])
        do {
            _ = try TollgateConfiguration.parse(
                yaml: """
                    plans:
                      free: {pulls_per_6h: -1, bytes_per_day: lots, colour: red}
                      "bad name": {}
                    default_plan: nope
                    metrics: {allow: ["10.0.0.0/33"]}
                    """)
            Issue.record("accepted")
        } catch let e as ConfigurationError {
            let text = e.problems.joined(separator: "\n")
            for needle in [
                "plans.free.pulls_per_6h: expected a whole number", "plans.free.bytes_per_day: not a size",
                "plans.free.colour: unknown key", "plans.bad name:", "default_plan: \"nope\" is not a plan",
                "metrics.allow[0]: not an address",
            ] {
                #expect(text.contains(needle), "missing \(needle) in \(text)")
            }
        }
    }

    @Test func theConsoleIsOnAtTheRootUnlessConfigured() throws {
        #expect(try TollgateConfiguration.parse(yaml: "log: {level: info}").web == .init(enabled: true, pathPrefix: ""))
        #expect(try TollgateConfiguration.parse(yaml: "web: {path_prefix: /}").web.pathPrefix == "")
        let c = try TollgateConfiguration.parse(yaml: "web: {enabled: false, path_prefix: /mirror/console/}")
        #expect(!c.web.enabled && c.web.pathPrefix == "/mirror/console")
        for (yaml, needle) in [
            ("web: {path_prefix: console}", "web.path_prefix: a path such as /console"),
            ("web: {path_prefix: \"/a b\"}", "web.path_prefix: a path such as /console"),
            ("web: {path_prefix: /x/../v2}", "web.path_prefix: a path such as /console"),
            ("web: {path_prefix: /v2}", "web.path_prefix: /v2 is the registry's"),
            ("web: {path_prefix: /token/x}", "web.path_prefix: /token is the registry's"),
            ("web: {enabled: maybe, colour: red}", "web.colour: unknown key"),
        ] {
            do {
                _ = try TollgateConfiguration.parse(yaml: yaml)
                Issue.record("accepted: \(yaml)")
            } catch let e as ConfigurationError {
                #expect(e.problems.joined(separator: "\n").contains(needle), "\(yaml): \(e.problems)")
            }
        }
    }

    @Test func upstreamPasswordsStayOutOfTheConfiguration() throws {
        func problems(_ yaml: String) -> String {
            do {
                _ = try TollgateConfiguration.parse(yaml: yaml)
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(problems("upstreams: {docker.io: {url: https://x, username: u, password: p}}").contains("password_file"))
        #expect(problems("upstreams: {docker.io: {url: https://x, username: u, password_file: f, password_env: E}}").contains("give one"))
        #expect(problems("upstreams: {docker.io: {url: https://x, username: u}}").contains("go together"))
        #expect(problems("upstreams: {docker.io: {url: https://x, username: u, password_env: TG_PW}}").isEmpty)
        #expect(problems("auth: {hide_denied: true, default_policy: {deny: [\"docker.io/private/**\"]}}").isEmpty)
    }

    @Test func httpMetricsLabelEndpointsNotNames() {
        #expect(HTTPMetrics.endpoint("/v2/") == "base")
        #expect(HTTPMetrics.endpoint("/v2/library/alpine/manifests/3.19") == "manifest")
        #expect(HTTPMetrics.endpoint("/v2/a/b/c/blobs/sha256:\(String(repeating: "a", count: 64))") == "blob")
        #expect(HTTPMetrics.endpoint("/v2/x/tags/list") == "tags")
        #expect(HTTPMetrics.endpoint("/v2/x/referrers/sha256:ab") == "referrers")
        #expect(HTTPMetrics.endpoint("/v2/../etc") == "v2_other")
        #expect(HTTPMetrics.endpoint("/token") == "token")
        #expect(HTTPMetrics.endpoint("/anything/else") == "other")
        let m = HTTPMetrics(registry: PrometheusCollectorRegistry())
        m.record(endpoint: "blob", method: "GET", status: 200, duration: .milliseconds(3), bytes: 100, cache: "hit")
        m.record(endpoint: "blob", method: "GET", status: 200, duration: .milliseconds(30), bytes: 50, cache: "hit,aborted")
        let text = m.registry.emitToString()
        #expect(text.contains(#"tollgate_http_requests_total{endpoint="blob",method="GET",status="200"} 2"#))
        #expect(text.contains(#"tollgate_cache_requests_total{endpoint="blob",outcome="hit"} 2"#))
        #expect(text.contains(#"tollgate_http_response_bytes_total{endpoint="blob",cache="hit"} 150"#))
        #expect(text.contains(#"tollgate_http_request_duration_seconds_count{endpoint="blob"} 2"#))
    }

    @Test func forwardedForIsReadRightToLeftPastTrustedProxies() {
        let trusted = [AddressRange("127.0.0.1")!, AddressRange("10.0.0.0/8")!]
        let isTrusted = { (a: String) in trusted.contains { $0.contains(a) } }
        #expect(ForwardedFor.client(forwardedFor: ["203.0.113.9"], isTrusted: isTrusted) == "203.0.113.9")
        // A client-supplied entry on the left is not believed.
        #expect(ForwardedFor.client(forwardedFor: ["6.6.6.6, 203.0.113.9"], isTrusted: isTrusted) == "203.0.113.9")
        #expect(
            ForwardedFor.client(forwardedFor: ["203.0.113.9", "10.1.2.3"], isTrusted: isTrusted) == "203.0.113.9")
        #expect(ForwardedFor.client(forwardedFor: ["2001:db8::5"], isTrusted: isTrusted) == "2001:db8::5")
        #expect(ForwardedFor.client(forwardedFor: ["not-an-ip"], isTrusted: isTrusted) == nil)
        #expect(ForwardedFor.client(forwardedFor: [], isTrusted: isTrusted) == nil)
        #expect(ForwardedFor.client(forwardedFor: ["10.0.0.1"], isTrusted: isTrusted) == nil)
    }

    @Test func addressRanges() {
        #expect(AddressRange("127.0.0.0/8")?.contains("127.1.2.3") == true)
        #expect(AddressRange("127.0.0.0/8")?.contains("128.0.0.1") == false)
        #expect(AddressRange("127.0.0.0/8")?.contains("::ffff:127.0.0.1") == true)
        #expect(AddressRange("::1/128")?.contains("::1") == true)
        #expect(AddressRange("2001:db8::/32")?.contains("2001:db8:ff::1") == true)
        #expect(AddressRange("2001:db8::/32")?.contains("2001:db9::1") == false)
        #expect(AddressRange("10.0.0.1")?.contains("10.0.0.1") == true)
        #expect(AddressRange("10.0.0.0/33") == nil)
        #expect(AddressRange("nonsense") == nil)
    }

    @Test func usageDays() {
        let now: Int64 = 1_795_611_600  // 2026-11-25T13:00:00Z
        #expect(UsageReport.firstDay("1d", now: now)?.description == "2026-11-25")
        #expect(UsageReport.firstDay("7d", now: now)?.description == "2026-11-19")
        #expect(UsageReport.firstDay("2026-11-01", now: now)?.description == "2026-11-01")
        #expect(UsageReport.firstDay("soon", now: now) == nil)
    }

    @Test func embeddedDefaultHasTheWellKnownRegistries() {
        let c = TollgateConfiguration.embeddedDefault
        #expect(c.upstreams["docker.io"]?.url == "https://registry-1.docker.io")
        #expect(Set(c.upstreams.keys) == ["docker.io", "ghcr.io", "quay.io", "registry.k8s.io", "gcr.io"])
        #expect(c.listenPort == 5000)
    }

    @Test(arguments: [("30s", 30.0), ("5m", 300), ("6h", 21600), ("7d", 604_800), ("500ms", 0.5)])
    func durations(_ s: String, _ seconds: Double) {
        #expect(ConfigValues.duration(s) == .milliseconds(Int64(seconds * 1000)))
    }

    @Test(arguments: [("500MB", Int64(500_000_000)), ("20GiB", 20 << 30), ("1024", 1024), ("1.5KiB", 1536)])
    func sizes(_ s: String, _ bytes: Int64) {
        #expect(ConfigValues.size(s) == bytes)
    }

    @Test(arguments: ["", "5x", "-1s", "m"])
    func badDurations(_ s: String) { #expect(ConfigValues.duration(s) == nil) }
}
