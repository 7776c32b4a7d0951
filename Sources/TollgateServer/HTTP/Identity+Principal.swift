import TollgateAuth
import TollgateLimits

extension Identity {
    /// Who this identity's requests act as for limits and accounting: the user, or the client's
    /// address group.
    func principal(address: String?) -> Principal {
        switch self {
        case .anonymous: .anonymous(AddressGroup(address: address))
        case .user(let name): .user(name)
        }
    }
}
