// RegistryPath.parse — every request path under /v2 (before anything touches a file or an
// upstream). A parsed endpoint rebuilt as a canonical path must parse to the same endpoint.
@testable import RegistryCore

func canonicalPath(_ p: RegistryPath) -> String {
    switch p {
    case .base: "/v2/"
    case .catalog: "/v2/_catalog"
    case .manifest(let n, let r): "/v2/\(n)/manifests/\(r)"
    case .blob(let n, let d): "/v2/\(n)/blobs/\(d)"
    case .tags(let n): "/v2/\(n)/tags/list"
    case .referrers(let n, let d): "/v2/\(n)/referrers/\(d)"
    case .upload(let n): "/v2/\(n)/blobs/uploads/"
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRegistryPath(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let s = fuzzText(data, size)
    let result: RegistryPath?
    do {
        result = try RegistryPath.parse(s)
    } catch let e as RegistryError {
        check(s == "/v2" || s.hasPrefix("/v2/"), "threw for a non-/v2 path", input: s)
        check(e.code.httpStatus == 400 || e.code.httpStatus == 404 || e.code == .unsupported,
            "unexpected error code \(e.code)", input: s)
        return 0
    } catch {
        check(false, "non-registry error \(error)", input: s)
        return 0
    }
    guard let endpoint = result else {
        check(s != "/v2" && !s.hasPrefix("/v2/"), "nil for a /v2 path", input: s)
        return 0
    }
    check(s.utf8.count <= RegistryPath.maxPathLength, "accepted an over-long path", input: s)
    check(!s.contains("%") && !s.contains("\\"), "accepted escapes", input: s)
    if let name = endpoint.repository {
        check((try? RepositoryName(parsing: name.value)) == name, "invalid repository name", input: s)
        check(!name.components.contains("..") && !name.components.contains("."), "dot segment in name", input: s)
    }
    let canonical = canonicalPath(endpoint)
    let again = try? RegistryPath.parse(canonical)
    check(again == endpoint, "canonical path \(escaped(canonical)) parses to \(String(describing: again))", input: s)
    return 0
}
