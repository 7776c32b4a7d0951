import HTTPTypes
import RegistryCore
import Testing

@testable import TollgateServer

struct HostPortTests {
    @Test func acceptsWhatClientsSendAsHost() {
        for ok in [
            "mirror.example", "mirror.example:5000", "MIRROR.test:1", "localhost", "127.0.0.1:5000", "[::1]:5000",
            "[::1]", "[2001:db8::1]:443", "[::ffff:127.0.0.1]:80", "my_registry:5000", "example.com.", "a-b.c:65535",
            String(repeating: "a", count: 63) + ".example",
        ] {
            #expect(HostPort.isValid(ok), "\(ok)")
        }
    }

    @Test func refusesEverythingElse() {
        for bad in [
            "", " ", "a b", "evil.com/x", "x:99999", "x:0", "x:abc", "x:", ":80", "<script>", "user@host", "host%2f",
            "::1", "[::1", "[::1]x", "[::1]:", "[fe80::1%eth0]", "[zz::1]", "a..b", ".a", "a:1:2", "host\r\nX: y",
            "h\u{0}", "é.example", String(repeating: "a", count: 64) + ".example", String(repeating: "a.", count: 140),
        ] {
            #expect(!HostPort.isValid(bad), "\(bad)")
        }
    }
}

struct PublicOriginTests {
    @Test func theHostTheClientAskedForIsTheOrigin() {
        #expect(
            PublicOrigin.resolve(authority: "mirror.test:5000", scheme: "http", trustedPeer: false)
                == .success(PublicOrigin(scheme: "http", host: "mirror.test:5000")))
        #expect(
            PublicOrigin.resolve(authority: "[::1]:5000", scheme: "https", trustedPeer: false)
                == .success(PublicOrigin(scheme: "https", host: "[::1]:5000")))
        #expect(PublicOrigin.resolve(authority: nil, scheme: "http", trustedPeer: false) == .success(nil))
        #expect(PublicOrigin.resolve(authority: "evil/x", scheme: "http", trustedPeer: false) == .failure(.badHost))
    }

    @Test func severalHostsMustAgree() {
        #expect(PublicOrigin.authority("a.example", hostFields: []) == .success("a.example"))
        #expect(PublicOrigin.authority(nil, hostFields: ["a.example"]) == .success("a.example"))  // HTTP/2 with Host only
        #expect(PublicOrigin.authority("a.example", hostFields: ["a.example"]) == .success("a.example"))
        #expect(PublicOrigin.authority("a.example", hostFields: ["b.example"]) == .failure(.conflictingHosts))
        #expect(PublicOrigin.authority(nil, hostFields: []) == .success(nil))
    }

    @Test func forwardedHeadersCountOnlyFromATrustedProxy() {
        let forged = PublicOrigin.resolve(
            authority: "mirror.test", scheme: "http", trustedPeer: false, forwardedProto: ["https"],
            forwardedHost: ["evil.example"], forwarded: ["host=evil.example"])
        #expect(forged == .success(PublicOrigin(scheme: "http", host: "mirror.test")))
        // Nor is a bad value in them looked at.
        #expect(
            PublicOrigin.resolve(authority: "mirror.test", scheme: "http", trustedPeer: false, forwardedHost: ["a b"])
                == .success(PublicOrigin(scheme: "http", host: "mirror.test")))

        let proxied = PublicOrigin.resolve(
            authority: "10.0.0.5:5000", scheme: "http", trustedPeer: true, forwardedProto: ["HTTPS"],
            forwardedHost: ["mirror.example, inner.example"])
        #expect(proxied == .success(PublicOrigin(scheme: "https", host: "mirror.example")))
        // Only the protocol forwarded: the Host stays.
        #expect(
            PublicOrigin.resolve(authority: "mirror.example", scheme: "http", trustedPeer: true, forwardedProto: ["https"])
                == .success(PublicOrigin(scheme: "https", host: "mirror.example")))
    }

    @Test func forwardedIsReadWhenTheXHeadersAreAbsent() {
        let rfc7239 = PublicOrigin.resolve(
            authority: "10.0.0.5", scheme: "http", trustedPeer: true,
            forwarded: [#"for=192.0.2.60;Proto=https;host="mirror.example:8443", for=10.0.0.1;host=inner"#])
        #expect(rfc7239 == .success(PublicOrigin(scheme: "https", host: "mirror.example:8443")))
        // X-Forwarded-* win over Forwarded.
        let both = PublicOrigin.resolve(
            authority: "10.0.0.5", scheme: "http", trustedPeer: true, forwardedHost: ["x.example"],
            forwarded: ["host=y.example;proto=https"])
        #expect(both == .success(PublicOrigin(scheme: "http", host: "x.example")))
        #expect(PublicOrigin.parameters(#"host="a\"b";proto=http"#) == ["host": #"a"b"#, "proto": "http"])
        #expect(PublicOrigin.firstElement([#"host="a,b", host=c"#], quoted: true) == #"host="a,b""#)
    }

    @Test func badForwardedValuesAreRefused() {
        #expect(
            PublicOrigin.resolve(authority: "m", scheme: "http", trustedPeer: true, forwardedHost: ["evil.com/x"])
                == .failure(.badForwardedHost))
        #expect(
            PublicOrigin.resolve(authority: "m", scheme: "http", trustedPeer: true, forwardedProto: ["javascript"])
                == .failure(.badForwardedProto))
        #expect(
            PublicOrigin.resolve(authority: "m", scheme: "http", trustedPeer: true, forwarded: ["host=\"a b\""])
                == .failure(.badForwardedHost))
    }

    @Test func publicURLWinsOverTheHost() async throws {
        try await HTTPTests().withApp(anonymous: false, htpasswd: AuthHTTPTests.users) {
            $0.publicURL = "https://pub.example/"
        } _: { client in
            try await client.execute(uri: "/v2/", method: .get) { r in
                #expect(r.status == .unauthorized)
                #expect(r.headers[.wwwAuthenticate]?.hasPrefix(#"Bearer realm="https://pub.example/token""#) == true)
            }
        }
    }

    @Test func aSecondDifferentHostHeaderIsRefusedWithoutEcho() async throws {
        try await HTTPTests().withApp(anonymous: false, htpasswd: AuthHTTPTests.users) { client in
            try await client.execute(uri: "/v2/", method: .get, headers: [HTTPField.Name("Host")!: "evil.example"]) { r in
                #expect(r.status == .badRequest)
                let body = String(buffer: r.body)
                #expect(body.contains("PARAMETER_INVALID"))
                #expect(!body.contains("evil"))
            }
        }
    }
}
