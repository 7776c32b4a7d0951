// Scope.parseAll — the `scope` query parameters (and form field) of /token, and what the
// access policy then grants for them.
@testable import RegistryCore
@testable import TollgateAuth

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzScope(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let s = fuzzText(data, size)
    let values = s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let scopes = Scope.parseAll(values)
    check(scopes.count <= values.reduce(0) { $0 + $1.split(separator: " ").count }, "too many scopes", input: s)
    for scope in scopes {
        check(!scope.type.isEmpty && scope.type.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) },
            "bad type \(escaped(scope.type))", input: s)
        check(!scope.name.isEmpty && !scope.name.contains(" "), "bad name \(escaped(scope.name))", input: s)
        check(scope.actions.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0 == "*") } },
            "bad actions \(scope.actions)", input: s)
        let again = Scope(parsing: scope.description)
        check(again == scope, "description \(escaped(scope.description)) re-parses to \(String(describing: again))", input: s)

        // What the default policy grants: pull at most, only on a valid repository name.
        let entry = AccessPolicy.everything.grant(scope) { "docker.io/\($0)" }
        if let entry {
            check(entry.actions == ["pull"] || (entry.type == "registry" && entry.name == "catalog"), "granted \(entry)", input: s)
            if entry.type == "repository" {
                check((try? RepositoryName(parsing: entry.name)) != nil, "granted an invalid name", input: s)
                check(entry.name == scope.name, "granted another name", input: s)
                check(entry.grants("pull", type: "repository", name: scope.name), "grant does not grant", input: s)
                check(!entry.grants("push", type: "repository", name: scope.name), "grant grants push", input: s)
            }
        }
        let denyAll = AccessPolicy(allow: ["**"], deny: ["**"])
        check(denyAll.grant(scope) { "docker.io/\($0)" } == nil, "deny ** still grants", input: s)
    }
    return 0
}
