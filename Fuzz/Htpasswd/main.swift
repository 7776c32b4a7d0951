// Htpasswd(text:) — the htpasswd file (hand-edited or written by `htpasswd -B`), and the CLI's
// edits on it. Lines are compared with a byte-level split of the text at "\n".
@testable import TollgateAuth

let newHash = "$2y$05$" + String(repeating: "a", count: 53)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHtpasswd(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let s = fuzzText(data, size)
    let file = Htpasswd(text: s)

    // Lines as bytes: what `htpasswd`, `cat -n` and the problem messages' line numbers mean.
    // A "\r" before the "\n" (or at the very end) is not part of the line.
    var byteLines = Array(s.utf8).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        .map { $0.last == UInt8(ascii: "\r") ? $0.dropLast() : $0 }
    if byteLines.last?.isEmpty == true { byteLines.removeLast() }
    check(file.lines.count == byteLines.count, "\(file.lines.count) lines, but the text has \(byteLines.count)", input: s)

    check(file.users.count + file.problems.count <= file.lines.count, "more users and problems than lines", input: s)
    for (name, user) in file.users {
        check(user.name == name && Htpasswd.invalidName(name) == nil, "invalid user name accepted", input: s)
        check(Bcrypt.isBcryptHash(user.hash), "non-bcrypt hash accepted", input: s)
        check(user.line >= 1 && user.line <= file.lines.count, "line out of range", input: s)
        check(file.lines[user.line - 1].contains(name + ":"), "user not on its line", input: s)
    }
    for p in file.problems { check(p.line >= 1 && p.line <= file.lines.count, "problem line out of range", input: s) }
    // Rewriting the file (as every CLI edit does) keeps the users. (Not byte for byte: one "\r"
    // at a line end is dropped per rewrite, so with "\r\r" a line can change; not checked.)
    let bytes = Array(s.utf8)
    if !zip(bytes, bytes.dropFirst()).contains(where: { $0 == 13 && $1 == 13 }) {
        check(Htpasswd(text: file.text).users == file.users, "text does not re-parse to the same users", input: s)
    }

    // The CLI's edits on the first user, then on a new one.
    if let name = file.users.keys.sorted().first, let before = file.users[name] {
        var f = file
        check(f.setDisabled(user: name, !before.disabled), "setDisabled failed", input: s)
        check(f.users[name]?.disabled == !before.disabled && f.users[name]?.hash == before.hash, "setDisabled", input: s)
        f.setPassword(user: name, hash: newHash)
        check(f.users[name]?.hash == newHash && f.users[name]?.disabled == !before.disabled, "setPassword", input: s)
        for (other, u) in file.users where other != name {
            check(f.users[other]?.hash == u.hash && f.users[other]?.disabled == u.disabled, "edit changed \(other)", input: s)
        }
        var g = file
        check(g.remove(user: name), "remove failed", input: s)
        check(g.users[name] == nil, "user \(escaped(name)) still present after remove", input: s)
    }
    var h = file
    let fresh = "fuzz-new-user"
    if file.users[fresh] == nil {
        h.setPassword(user: fresh, hash: newHash)
        check(h.users[fresh]?.hash == newHash, "new user not added", input: s)
        check(h.users.count == file.users.count + 1, "adding a user changed others", input: s)
    }
    return 0
}
