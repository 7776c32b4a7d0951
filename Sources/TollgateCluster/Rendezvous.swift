import Crypto

/// Which node owns a key (a digest; an upstream and repository): highest random weight
/// (rendezvous) hashing. Every node computes the same owner from the same live list, and when a
/// node joins or leaves only the keys it owns (or will own) move.
public enum Rendezvous {
    public static func owner(of key: String, among nodes: [NodeRecord]) -> NodeRecord? {
        var best: (weight: UInt64, node: NodeRecord)?
        for node in nodes {
            let w = weight(node.name, key)
            // Ties (practically impossible) go to the smaller name, so every node agrees.
            if best == nil || w > best!.weight || (w == best!.weight && node.name < best!.node.name) {
                best = (w, node)
            }
        }
        return best?.node
    }

    static func weight(_ node: String, _ key: String) -> UInt64 {
        var hasher = SHA256()
        hasher.update(data: Array(node.utf8))
        hasher.update(data: [0])
        hasher.update(data: Array(key.utf8))
        return hasher.finalize().withUnsafeBytes { raw in
            raw.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
    }
}
