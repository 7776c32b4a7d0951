/// How the token server signs (`auth.token.algorithm`): ECDSA P-256 or RSA, both with SHA-256.
public enum TokenAlgorithm: String, Sendable, CaseIterable {
    case es256 = "ES256"
    case rs256 = "RS256"
}
