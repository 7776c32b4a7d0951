// AccessPolicy.isValidGlob and glob matching (allows/grant): globs come from the configuration
// and `tollgate user set --allow/--deny`, names from clients. Input: glob line, then name line.
// Matching is compared with a small dynamic-programming reference matcher.
@testable import TollgateAuth

/// `*` any run within a component, `**` (a whole component) any number of components.
func referenceMatch(_ pattern: String, _ name: String) -> Bool {
    let p = pattern.split(separator: "/", omittingEmptySubsequences: false).map { Array($0) }
    let n = name.split(separator: "/", omittingEmptySubsequences: false).map { Array($0) }
    func component(_ p: [Character], _ s: [Character]) -> Bool {
        var m = Array(repeating: Array(repeating: false, count: s.count + 1), count: p.count + 1)
        m[0][0] = true
        for i in 0...p.count {
            for j in 0...s.count where !(i == 0 && j == 0) {
                guard i > 0 else { continue }
                if p[i - 1] == "*" {
                    m[i][j] = m[i - 1][j] || (j > 0 && m[i][j - 1])
                } else if j > 0 {
                    m[i][j] = m[i - 1][j - 1] && p[i - 1] == s[j - 1]
                }
            }
        }
        return m[p.count][s.count]
    }
    // m[i][j]: the first i pattern components match the first j name components.
    var m = Array(repeating: Array(repeating: false, count: n.count + 1), count: p.count + 1)
    m[0][0] = true
    for i in 1...p.count {
        for j in 0...n.count {
            if p[i - 1] == ["*", "*"] {
                m[i][j] = m[i - 1][j] || (j > 0 && m[i][j - 1])
            } else if j > 0 {
                m[i][j] = m[i - 1][j - 1] && component(p[i - 1], n[j - 1])
            }
        }
    }
    return m[p.count][n.count]
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAccessPolicy(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let s = fuzzText(data, size)
    let parts = s.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
    let glob = parts[0]
    let name = parts.count > 1 ? parts[1] : ""
    let valid = AccessPolicy.isValidGlob(glob)
    if valid {
        check(glob.unicodeScalars.allSatisfy(\.isASCII) && !glob.contains("//"), "odd glob accepted", input: s)
        // A literal glob matches itself.
        if !glob.contains("*") { check(AccessPolicy.matches(glob, glob), "literal does not match itself", input: s) }
    }
    // Matching backtracks over `**`: time grows like (name components)^(number of `**`), e.g.
    // 6 `**` against a 61-component name take ~10 s (reported; globs are the operator's).
    // Keep to at most 2 `**` so that known slowness doesn't end every run as a timeout.
    let globstars = glob.split(separator: "/", omittingEmptySubsequences: false).filter { $0 == "**" }.count
    guard valid, name.utf8.count <= 512, globstars <= 2 else { return 0 }
    let got = AccessPolicy.matches(glob, name)
    // Names reaching the policy are `<upstream>/<repository>`, ASCII only; the reference
    // compares Characters, the real matcher uses Foundation's range(of:) for inner `*` parts.
    guard name.unicodeScalars.allSatisfy(\.isASCII) else { return 0 }
    let want = referenceMatch(glob, name)
    check(got == want, "matches=\(got), reference=\(want)", input: s)
    let policy = AccessPolicy(allow: [glob], deny: [])
    check(policy.allows(name) == got || policy.allowsEverything, "allows disagrees with matches", input: s)
    check(!AccessPolicy(allow: ["**"], deny: [glob]).allows(name) == got, "deny disagrees with matches", input: s)
    return 0
}
