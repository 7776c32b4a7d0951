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
            Snippet(title: "Kubernetes pull secret", text: kubectlSecret(password: Self.quote(secret))),
            Snippet(
                title: "containerd, node-wide (/etc/containerd/certs.d/docker.io/hosts.toml)",
                text: hostsToml(header: "Authorization = \"\(basicAuthorization)\"")),
        ]
    }

    /// A `kubectl` pull secret for the user; `password`: a shell word.
    func kubectlSecret(password: String) -> String {
        """
        kubectl create secret docker-registry tollgate-pull \\
          --docker-server=\(Self.quote(host)) \\
          --docker-username=\(Self.quote(user)) \\
          --docker-password=\(password)
        """
    }

    /// containerd's `hosts.toml` for docker.io through the mirror, with `header` lines sent to it
    /// (node-wide credentials) when given.
    func hostsToml(header: String? = nil) -> String {
        var text = """
            server = "https://registry-1.docker.io"

            [host."\(origin)"]
              capabilities = ["pull", "resolve"]
            """
        if let header { text += "\n  [host.\"\(origin)\".header]\n" + header.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n") }
        return text
    }

    /// The setup page: every client, filled in with the mirror and the user (a token where the
    /// secret goes: `secret` is a placeholder there). `upstreams`: the mirror's, docker.io first.
    public func forSetup(upstreams: [String]) -> [Snippet] {
        let insecure = origin.hasPrefix("http://")
        let others = upstreams.filter { $0 != "docker.io" }
        var podman = ""
        for u in upstreams {
            podman += """
                [[registry]]
                prefix = "\(u)"
                location = "\(u)"
                [[registry.mirror]]
                location = "\(u == "docker.io" ? host : host + "/" + u)"\(insecure ? "\ninsecure = true" : "")


                """
        }
        let base64 = "printf '%s' \(Self.quote(user + ":YOUR_TOKEN")) | base64 -w0"
        return [
            Snippet(
                title: "Docker: /etc/docker/daemon.json (docker.io images through the mirror)",
                text: """
                    {
                      "registry-mirrors": ["\(origin)"]\(insecure ? ",\n  \"insecure-registries\": [\"\(host)\"]" : "")
                    }
                    """),
            Snippet(
                title: "Docker: log in (a password or, better, a token)",
                text: "docker login \(Self.quote(host)) -u \(Self.quote(user))"),
            Snippet(
                title: "Docker: other registries by path",
                text: (others.first.map { "docker pull \(host)/\($0)/ORG/IMAGE:TAG\n" } ?? "") + "docker pull \(host)/library/alpine:3.19"),
            Snippet(
                title: "containerd: /etc/containerd/certs.d/docker.io/hosts.toml (one file per registry; ?ns= routes them)",
                text: hostsToml()),
            Snippet(
                title: "containerd: CRI credentials (config.toml, containerd 1.x; Kubernetes nodes)",
                text: """
                    [plugins."io.containerd.grpc.v1.cri".registry]
                      config_path = "/etc/containerd/certs.d"
                    [plugins."io.containerd.grpc.v1.cri".registry.configs."\(host)".auth]
                      username = "\(Self.tomlEscape(user))"
                      password = "YOUR_TOKEN"
                    """),
            Snippet(
                title: "containerd: node-wide credentials without CRI auth (hosts.toml; also Docker's containerd image store in /etc/docker/certs.d/\(host)/hosts.toml)",
                text: hostsToml(
                    header: "# Basic, then the output of: \(base64)\nAuthorization = \"Basic PASTE_THE_BASE64_HERE\"")),
            Snippet(title: "ctr", text: "ctr images pull --hosts-dir /etc/containerd/certs.d --user \(Self.quote(user)) docker.io/library/alpine:3.19"),
            Snippet(title: "podman / CRI-O / buildah: /etc/containers/registries.conf", text: podman.trimmingCharacters(in: .newlines)),
            Snippet(
                title: "skopeo",
                text: "skopeo copy --src-creds \(Self.quote(user)):YOUR_TOKEN\(insecure ? " --src-tls-verify=false" : "") docker://\(host)/library/alpine:3.19 dir:/tmp/alpine"),
            Snippet(
                title: "Kubernetes: a pull secret, used by a pod's imagePullSecrets", text: kubectlSecret(password: "YOUR_TOKEN")),
            Snippet(
                title: "GitHub Actions",
                text: """
                    - uses: docker/login-action@v3
                      with:
                        registry: \(host)
                        username: \(user)
                        password: ${{ secrets.TOLLGATE_TOKEN }}
                    - run: docker pull \(host)/library/alpine:3.19
                    """),
            Snippet(
                title: "GitLab CI",
                text: """
                    # Settings → CI/CD → Variables, masked: DOCKER_AUTH_CONFIG =
                    #   {"auths": {"\(host)": {"auth": "<output of: \(base64)>"}}}
                    image: \(host)/library/alpine:3.19
                    """),
        ]
    }

    /// A TOML basic string's content.
    static func tomlEscape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }

    /// A shell word: single-quoted, a quote inside as `'\''`.
    public static func quote(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
