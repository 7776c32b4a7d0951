import Testing

@testable import TollgateServer

/// Inputs the fuzz targets under Fuzz/ (scripts/fuzz) turned up, kept as regression tests.
struct FuzzRegressionTests {
    /// Fuzz/TokenForm: a bad escape or bytes that aren't UTF-8 became an empty name or value
    /// (`password=%zz` logged in with the empty password); such a body is now refused (400).
    @Test(arguments: ["a&=b&c=&%zz=1", "password=%zz", "password=%E2%82", "x=%", "x=%4", "%=1", "password=%FF"])
    func malformedEscapesAreRefused(_ body: String) {
        #expect(TokenForm.parse(body) == nil)
    }

    /// Fuzz/TokenForm: "&" and "=" followed by a combining mark are one Character each, so
    /// splitting the String missed them ("a=1&\u{301}b=2" was one field).
    @Test func delimitersAreBytes() {
        #expect(TokenForm.parse("a=1&\u{301}b=2") == ["a": "1", "\u{301}b": "2"])
        #expect(TokenForm.parse("a=\u{301}b") == ["a": "\u{301}b"])
    }

    @Test func wellFormedFields() {
        let form = TokenForm.parse("grant_type=password&username=al%69ce&password=s%C3%A9cret+x%2B&scope=a&scope=b&flag&&=v")
        #expect(form == ["grant_type": "password", "username": "alice", "password": "sécret x+", "scope": "a", "flag": "", "": "v"])
        #expect(TokenForm.parse("") == [:])
    }

    /// Fuzz/ForwardedFor: a client's last character could swallow the "," its proxy appends
    /// ("\u{600}," is one Character); the whole entry was then garbage and the client was counted
    /// as the proxy (a second address for rate limits and login throttling, at will).
    @Test func aClientCannotHideTheAddressItsProxyAppends() {
        let isTrusted = { (a: String) in AddressRange("10.0.0.0/8")!.contains(a) }
        #expect(ForwardedFor.client(forwardedFor: ["\u{600}, 203.0.113.7"], isTrusted: isTrusted) == "203.0.113.7")
        #expect(ForwardedFor.client(forwardedFor: ["x\u{301}, 203.0.113.7 ,\t10.1.2.3"], isTrusted: isTrusted) == "203.0.113.7")
        // Only spaces and tabs are blanks around an entry.
        #expect(ForwardedFor.client(forwardedFor: ["203.0.113.7\u{A0}"], isTrusted: isTrusted) == nil)
    }

    /// Fuzz/ForwardedFor: inet_pton reads a C string, so "2001:db8::db\0junk" was the address
    /// 2001:db8::db, and the client address kept the junk.
    @Test func addressesWithNULAreNotAddresses() {
        #expect(AddressRange.parse("2001:db8::db\u{0}::fD1") == nil)
        #expect(AddressRange.parse("10.0.0.1\u{0}x") == nil)
        #expect(AddressRange("10.0.0.1\u{0}/8") == nil)
        #expect(!AddressRange("10.0.0.0/8")!.contains("10.0.0.1\u{0}"))
        #expect(ForwardedFor.client(forwardedFor: ["2001:db8::db\u{0}::fD1"], isTrusted: { _ in false }) == nil)
    }
}
