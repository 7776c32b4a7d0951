import Testing

@testable import RegistryCore

struct DigestTests {
    @Test(arguments: [
        "sha256:" + String(repeating: "a", count: 64),
        "sha512:" + String(repeating: "0", count: 128),
    ])
    func valid(_ s: String) throws {
        let d = try Digest(parsing: s)
        #expect(d.description == s)
    }

    @Test(arguments: [
        "", "sha256", "sha256:", "sha256:abc", "sha256:" + String(repeating: "A", count: 64),
        "sha256:" + String(repeating: "g", count: 64), "sha256:" + String(repeating: "a", count: 65),
        ":" + String(repeating: "a", count: 64), "SHA256:" + String(repeating: "a", count: 64),
        "sha256:../../" + String(repeating: "a", count: 58), String(repeating: "x", count: 5000),
    ])
    func invalid(_ s: String) {
        #expect(throws: RegistryError.self) { try Digest(parsing: s) }
    }

    @Test func unknownAlgorithmIsUnsupported() {
        #expect(throws: RegistryError(.unsupported, "unsupported digest algorithm", detail: "md5")) {
            try Digest(parsing: "md5:" + String(repeating: "a", count: 32))
        }
    }

    @Test func sha256OfKnownInput() {
        #expect(
            Digest.sha256(of: Array("abc".utf8)).description
                == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func incrementalHashEqualsOneShot() {
        var h = DigestHasher(algorithm: "sha256")
        h.update(Array("a".utf8))
        h.update(Array("bc".utf8))
        #expect(h.finalize() == Digest.sha256(of: Array("abc".utf8)))
    }
}

struct NameTests {
    @Test(arguments: ["alpine", "library/alpine", "a/b/c", "my-org/my_tool", "a__b", "a---b", "x.y/z", "0", "ab.cd-ef_gh"])
    func validNames(_ s: String) throws {
        #expect(try RepositoryName(parsing: s).value == s)
    }

    @Test(arguments: [
        "", "Alpine", "a//b", "/a", "a/", "..", "a/../b", "-a", "a-", "a_", "a___b", "a..b", "a b", "a%2fb",
        "a:b", String(repeating: "a", count: 256), "ä",
    ])
    func invalidNames(_ s: String) {
        #expect(throws: RegistryError.self) { try RepositoryName(parsing: s) }
    }

    @Test(arguments: ["latest", "3.19", "v1.0-rc_1", "_x", String(repeating: "t", count: 128)])
    func validTags(_ s: String) throws {
        #expect(try Tag(parsing: s).value == s)
    }

    @Test(arguments: ["", ".x", "-x", "a/b", "bad!tag", String(repeating: "t", count: 129)])
    func invalidTags(_ s: String) {
        #expect(throws: RegistryError.self) { try Tag(parsing: s) }
    }

    @Test func referenceWithColonIsDigest() throws {
        let d = "sha256:" + String(repeating: "b", count: 64)
        #expect(try Reference(parsing: d) == .digest(try Digest(parsing: d)))
        #expect(try Reference(parsing: "v1") == .tag(try Tag(parsing: "v1")))
    }
}

struct RegistryPathTests {
    let digest = "sha256:" + String(repeating: "c", count: 64)

    @Test func endpoints() throws {
        #expect(try RegistryPath.parse("/v2/") == .base)
        #expect(try RegistryPath.parse("/v2") == .base)
        #expect(try RegistryPath.parse("/v2/_catalog") == .catalog)
        #expect(try RegistryPath.parse("/healthz") == nil)
        #expect(
            try RegistryPath.parse("/v2/library/alpine/manifests/3.19")
                == .manifest(try RepositoryName(parsing: "library/alpine"), .tag(try Tag(parsing: "3.19"))))
        #expect(
            try RegistryPath.parse("/v2/ghcr.io/org/tool/blobs/\(digest)")
                == .blob(try RepositoryName(parsing: "ghcr.io/org/tool"), try Digest(parsing: digest)))
        #expect(try RegistryPath.parse("/v2/a/b/tags/list") == .tags(try RepositoryName(parsing: "a/b")))
        #expect(try RegistryPath.parse("/v2/a/blobs/uploads/") == .upload(try RepositoryName(parsing: "a")))
        #expect(try RegistryPath.parse("/v2/a/blobs/uploads/123") == .upload(try RepositoryName(parsing: "a")))
        // A repository may itself be called "manifests" or "blobs".
        #expect(
            try RegistryPath.parse("/v2/blobs/manifests/latest")
                == .manifest(try RepositoryName(parsing: "blobs"), .tag(try Tag(parsing: "latest"))))
    }

    @Test(arguments: [
        ("/v2/../etc/passwd/manifests/x", RegistryError.Code.nameInvalid),
        ("/v2/%2e%2e/x/manifests/latest", .nameInvalid),
        ("/v2/UPPER/manifests/latest", .nameInvalid),
        ("/v2/library/alpine/blobs/sha256:xyz", .digestInvalid),
        ("/v2/library/alpine/manifests/sha256:abc", .manifestUnknown),
        ("/v2/library/alpine/manifests/bad!tag", .manifestUnknown),
        ("/v2/library/alpine/manifests/", .nameInvalid),
        ("/v2/library/alpine/whatever", .nameUnknown),
        ("/v2/x", .nameInvalid),
        ("/v2/a\\b/manifests/x", .nameInvalid),
    ])
    func rejected(_ path: String, _ code: RegistryError.Code) {
        do {
            _ = try RegistryPath.parse(path)
            Issue.record("\(path) was accepted")
        } catch {
            #expect((error as? RegistryError)?.code == code, "\(path)")
        }
    }

    @Test func absurdLengths() {
        let long = "/v2/" + String(repeating: "a", count: 300) + "/manifests/latest"
        #expect(throws: RegistryError.self) { try RegistryPath.parse(long) }
        let huge = "/v2/" + String(repeating: "a/", count: 5000) + "manifests/latest"
        #expect(throws: RegistryError.self) { try RegistryPath.parse(huge) }
    }
}

struct ByteRangeTests {
    @Test(arguments: [
        (nil, 100, ByteRange.Resolution.whole),
        ("bytes=0-9", 100, .partial(ByteRange(start: 0, end: 9))),
        ("bytes=90-", 100, .partial(ByteRange(start: 90, end: 99))),
        ("bytes=90-1000", 100, .partial(ByteRange(start: 90, end: 99))),
        ("bytes=-10", 100, .partial(ByteRange(start: 90, end: 99))),
        ("bytes=-1000", 100, .partial(ByteRange(start: 0, end: 99))),
        ("bytes=100-", 100, .unsatisfiable),
        ("bytes=5-2", 100, .unsatisfiable),
        ("bytes=-0", 100, .unsatisfiable),
        ("bytes=abc", 100, .unsatisfiable),
        ("bytes=0-1,5-6", 100, .whole),
        ("items=0-1", 100, .whole),
        ("bytes=99999999999999999999-", 100, .unsatisfiable),
    ] as [(String?, Int64, ByteRange.Resolution)])
    func resolve(_ header: String?, _ size: Int64, _ expected: ByteRange.Resolution) {
        #expect(ByteRange.resolve(header, size: size) == expected)
    }

    @Test func contentRange() {
        #expect(ByteRange(start: 0, end: 99).contentRange(size: 2298) == "bytes 0-99/2298")
    }
}

struct AuthChallengeTests {
    @Test func dockerHubBearer() {
        let c = AuthChallenge.parse(
            #"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#)
        #expect(c.count == 1)
        #expect(c[0].isBearer)
        #expect(c[0].realm == "https://auth.docker.io/token")
        #expect(c[0].service == "registry.docker.io")
        #expect(c[0].scope == "repository:library/alpine:pull")
    }

    @Test func basicAndUnquoted() {
        let c = AuthChallenge.parse(#"Basic realm="quay", charset=UTF-8"#)
        #expect(c.count == 1)
        #expect(c[0].isBasic)
        #expect(c[0].realm == "quay")
        #expect(c[0].parameters["charset"] == "UTF-8")
    }

    @Test func twoChallenges() {
        let c = AuthChallenge.parse(#"Basic realm="a", Bearer realm="https://x/token",service="s""#)
        #expect(c.map(\.scheme) == ["Basic", "Bearer"])
        #expect(c[1].service == "s")
    }

    @Test func escapesAndGarbage() {
        #expect(AuthChallenge.parse(#"Bearer realm="a\"b""#).first?.realm == "a\"b")
        for junk in ["", "=", ",,,", "Bearer realm=\"unterminated", "Bearer ===", String(repeating: "x=", count: 3000)] {
            _ = AuthChallenge.parse(junk)  // must not crash
        }
    }
}

struct MediaTypeTests {
    @Test func acceptMergesLinesAndDropsParameters() {
        let a = AcceptList(headerValues: [
            "application/vnd.oci.image.index.v1+json; q=0.5", "application/vnd.docker.distribution.manifest.v2+json, */*",
        ])
        #expect(a.types.count == 3)
        #expect(a.acceptsAnything)
        let strict = AcceptList(headerValues: [MediaType.dockerManifest])
        #expect(strict.accepts(MediaType.dockerManifest))
        #expect(!strict.accepts(MediaType.ociIndex))
        #expect(AcceptList(headerValues: []).accepts(MediaType.ociIndex))
    }
}

struct PaginationTests {
    let tags = ["a", "b", "c", "d"]

    @Test func pages() throws {
        #expect(try Pagination(n: "2", last: nil).page(of: tags) == (["a", "b"], true) )
        #expect(try Pagination(n: "2", last: "b").page(of: tags) == (["c", "d"], false))
        #expect(try Pagination(n: "0", last: nil).page(of: tags) == ([], false))
        #expect(try Pagination(n: nil, last: "c").page(of: tags) == (["d"], false))
    }

    @Test(arguments: ["-1", "abc", "99999999999"])
    func badN(_ n: String) {
        #expect(throws: RegistryError.self) { try Pagination(n: n, last: nil) }
    }
}

struct RegistryErrorTests {
    @Test func jsonBodyAndStatus() {
        let e = RegistryError(.blobUnknown, "blob \"x\"\n", detail: "d")
        #expect(e.httpStatus == 404)
        #expect(e.jsonBody == #"{"errors":[{"code":"BLOB_UNKNOWN","message":"blob \"x\"\n","detail":"d"}]}"#)
        #expect(RegistryError.unsupported.httpStatus == 405)
        #expect(RegistryError(.tooManyRequests, "x").httpStatus == 429)
    }
}

struct ReferrersQueryTests {
    @Test func canonicalFormAndNs() throws {
        let q = try ReferrersQuery(decoding: "ns=docker.io&artifactType=application%2Fvnd.dev.cosign.artifact.sig.v1%2Bjson")
        #expect(q.artifactType == "application/vnd.dev.cosign.artifact.sig.v1+json")
        #expect(q.encoded == "artifactType=application%2Fvnd.dev.cosign.artifact.sig.v1%2Bjson")
        #expect(try ReferrersQuery(decoding: "b=2&a=1") == ReferrersQuery(decoding: "a=1&b=2"))
        #expect(try ReferrersQuery(decoding: "") == .none)
    }

    @Test func badQueriesAreParameterInvalid() {
        for bad in [
            "artifactType=nope", "artifactType=a/b/c", "a%zz=1", "%00=1", "a=%0d%0aX", "a b=1",
            (0..<9).map { "p\($0)=1" }.joined(separator: "&"), "a=" + String(repeating: "x", count: 1100),
        ] {
            #expect(throws: RegistryError.self, "\(bad)") { _ = try ReferrersQuery(decoding: Substring(bad)) }
        }
    }

    @Test func nextPageIsTheQueryOfTheLinkOnly() throws {
        #expect(try ReferrersQuery.next(fromLink: []) == nil)
        #expect(try ReferrersQuery.next(fromLink: [#"<https://evil.example/x?page=2&n=5>; rel="next""#])?.encoded == "n=5&page=2")
        #expect(try ReferrersQuery.next(fromLink: [#"</v2/a/referrers/sha256:1>; rel="next""#]) == ReferrersQuery.none)
        #expect(throws: RegistryError.self) { _ = try ReferrersQuery.next(fromLink: [#"<x?a%0a=1>; rel="next""#]) }
    }

    @Test func artifactTypesAreMediaTypes() {
        #expect(MediaType.isWellFormed("application/vnd.dev.cosign.artifact.sig.v1+json"))
        #expect(MediaType.isWellFormed("application/spdx+json"))
        for bad in ["", "a", "a/", "/b", "a/b/c", "a/b; x=y", "a b/c", "a/<b>"] { #expect(!MediaType.isWellFormed(bad), "\(bad)") }
    }
}

struct AudienceTests {
    @Test func storedKeysRoundTrip() {
        #expect(Audience.shared.key == "shared")
        let alice = UserName("alice")!
        #expect(Audience.user(alice).key == "user:alice")
        for a in [Audience.shared, .user(alice), .user(UserName("a.b-c_d@e")!)] { #expect(Audience(key: a.key) == a) }
        for bad in ["", "user:", "User:alice", "shared ", "u:alice", "user:a:b", "user:a b"] {
            #expect(Audience(key: bad) == nil, "\(bad)")
        }
    }
}

struct IdentityNameTests {
    @Test func userNamesFollowTheHtpasswdRule() {
        for good in ["alice", "ci-bot", "a.b@example.com", "Ünïcode", String(repeating: "x", count: 255)] {
            #expect(UserName(good)?.value == good, "\(good)")
        }
        for (bad, why) in [
            ("", "empty"), ("a:b", "contains ':'"), ("a b", "contains spaces or control characters"),
            ("a\u{7f}", "contains spaces or control characters"), ("tab\there", "contains spaces or control characters"),
            (String(repeating: "x", count: 256), "longer than 255 bytes"),
        ] {
            #expect(UserName(bad) == nil)
            #expect(UserName.problem(with: bad) == why)
        }
    }

    @Test func upstreamNamesAreLowerCaseRegistryHosts() {
        for good in ["docker.io", "ghcr.io", "registry.k8s.io", "localhost", "my-registry.example"] {
            #expect(UpstreamName(good)?.value == good, "\(good)")
        }
        for bad in ["", "Docker.io", "docker.io:443", "-x.io", "x-.io", "a..b", "a_b.io", "https://x.io", "x.io/", "é.io"] {
            #expect(UpstreamName(bad) == nil, "\(bad)")
        }
    }
}
