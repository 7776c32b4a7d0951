import TollgateAuth
import TollgateLimits

extension Identity {
    /// Who this identity's requests count against: the user, or the client's address group.
    func limitSubject(address: String?) -> LimitSubject {
        switch self {
        case .anonymous: .anonymous(address: address)
        case .user(let name): .user(name.value)
        }
    }
}
