import Foundation
import RegistryCore

/// Storage errors as clients see them: a full disk (or exhausted quota) is 503 with a clear
/// message and a `Retry-After`, not an internal error; anything else is passed on unchanged.
enum StorageFailure {
    static func registryError(_ error: any Error) -> any Error {
        guard let e = error as? BlobStoreError, e.isOutOfSpace else { return error }
        return RegistryError(.unavailable, "the mirror's storage is full: nothing can be cached now", retryAfter: 60)
    }
}
