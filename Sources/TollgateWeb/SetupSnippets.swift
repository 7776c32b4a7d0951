import Foundation

/// Ready-to-paste client configuration, filled in with the mirror's URL, the user's name and (for
/// a new token) its secret. Pure: text in, text out; shell words are single-quoted.
public struct SetupSnippets: Sendable {
    /// `https://mirror.example` (or with a port).
    public var origin: String
    public var user: String
    public var secret: String

    public init(origin: String, user: String, secret: String) {
        self.origin = origin.hasSuffix("/") ? String(origin.dropLast()) : origin
        self.user = user
        self.secret = secret
    }

    public struct Snippet: Sendable, Equatable {
        public var title: String
        public var text: String
    }

    /// `mirror.example:5000`: what `docker login` and image references name.
    public var host: String {
        guard let r = origin.range(of: "://") else { return origin }
        return String(origin[r.upperBound...])
    }

    /// The `Authorization` value a node-wide configuration sends (containerd's hosts.toml header).
    public var basicAuthorization: String { "Basic " + Data("\(user):\(secret)".utf8).base64EncodedString() }

    /// What the token page shows once, after creating a token.
    public var forToken: [Snippet] {
        [
            Snippet(
                title: "Docker",
                text: "echo \(Self.quote(secret)) | docker login \(Self.quote(host)) -u \(Self.quote(user)) --password-stdin"),
            Snippet(
                title: "Podman / Buildah / Skopeo",
                text: "echo \(Self.quote(secret)) | podman login \(Self.quote(host)) -u \(Self.quote(user)) --password-stdin"),
            Snippet(
                title: "Kubernetes pull secret",
                text: """
                    kubectl create secret docker-registry tollgate-pull \\
                      --docker-server=\(Self.quote(host)) \\
                      --docker-username=\(Self.quote(user)) \\
                      --docker-password=\(Self.quote(secret))
                    """),
            Snippet(
                title: "containerd, node-wide (/etc/containerd/certs.d/docker.io/hosts.toml)",
                text: """
                    server = "https://registry-1.docker.io"

                    [host."\(origin)"]
                      capabilities = ["pull", "resolve"]
                      [host."\(origin)".header]
                        Authorization = "\(basicAuthorization)"
                    """),
        ]
    }

    /// A shell word: single-quoted, a quote inside as `'\''`.
    public static func quote(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
