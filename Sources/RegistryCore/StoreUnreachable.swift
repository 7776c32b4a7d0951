/// What a storage adapter throws when its engine can't be reached (as opposed to refusing what it
/// was asked): the HTTP layer answers 503 "degraded: database unreachable" for it without knowing
/// which engine it was.
public protocol StoreUnreachable: Error {}
