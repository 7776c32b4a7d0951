import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RegistryCore
import Testing
import TollgateTestSupport

@testable import TollgateServer

/// `GET /v2/<name>/referrers/<digest>` through the HTTP stack: a request, not a pull; the
/// upstream's headers kept; its next page on the mirror.
struct ReferrersHTTPTests {
    @Test func referrersAreARequestWithTheirPagesOnTheMirror() async throws {
        try await LimitHTTPTests().withServer(plans: "plans: {default: {pulls_per_6h: 1}}") { client, up, _ in
            let sig = "application/vnd.dev.cosign.artifact.sig.v1+json"
            let refs = (0..<3).map { _ in up.fake.addReferrer(repo: "library/app", subject: up.manifest, artifactType: sig) }
            up.fake.setOptions { $0.referrersPageSize = 2 }
            let base = "/v2/library/app/referrers/\(up.manifest)"
            let link = try await client.execute(uri: base + "?ns=docker.io", method: .get, headers: LimitHTTPTests.alice) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == MediaType.ociIndex)
                #expect(r.headers[.rateLimitRemaining] == "1")  // not a pull
                #expect(String(buffer: r.body).contains(refs[1].description))
                return r.headers[.link]
            }
            // The upstream's link named another host: the mirror's is relative, on the mirror.
            #expect(link == "<\(base)?page=2&ns=docker.io>; rel=\"next\"")
            try await client.execute(uri: base + "?page=2&ns=docker.io", method: .get, headers: LimitHTTPTests.alice) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body).contains(refs[2].description))
                #expect(r.headers[.link] == nil)
            }
            let filtered = base + "?artifactType=" + sig.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            try await client.execute(uri: filtered, method: .head, headers: LimitHTTPTests.alice) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.ociFiltersApplied] == "artifactType")
                #expect(r.headers[.xCache] == "miss")
                #expect(Int(r.headers[.contentLength] ?? "") ?? 0 > 0)
            }
            try await client.execute(uri: base + "?artifactType=bad", method: .get, headers: LimitHTTPTests.alice) { r in
                #expect(r.status == .badRequest)
            }
            up.fake.setOptions { $0.referrersPageSize = nil }
            try await client.execute(uri: "/v2/library/app/referrers/\(up.small)", method: .get, headers: LimitHTTPTests.alice) { r in
                #expect(r.status == .notFound)
            }
        }
    }
}
