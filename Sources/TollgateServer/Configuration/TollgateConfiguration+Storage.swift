import Foundation
import Yams

extension TollgateConfiguration {
    public struct Storage: Sendable, Equatable {
        public var path = "./data"
        public var maxSize: Int64?
        /// The most bytes one blob download may have when no manifest declared its size.
        public var maxBlobSize: Int64 = 10 << 30
        /// Bytes of small blobs and manifests kept in memory.
        public var memoryCache: Int64 = 64 << 20
    }
}

extension ConfigReader {
    mutating func readStorage(_ node: Node, into s: inout TollgateConfiguration.Storage) {
        fields(of: node, at: "storage") { r, f in
            switch f.key {
            case "path": if let v = r.string(f.value, f.path) { s.path = v }
            case "max_size": if let v = r.size(f.value, f.path) { s.maxSize = v }
            case "max_blob_size":
                if let v = r.size(f.value, f.path) {
                    if v < 1 << 20 { r.problem(f.path, "must be at least 1MiB") } else { s.maxBlobSize = v }
                }
            case "memory_cache": if let v = r.size(f.value, f.path) { s.memoryCache = v }
            default: return false
            }
            return true
        }
    }
}
