import ArgumentParser
import Foundation
import Logging
import TollgateLimits
import TollgateProxy
import TollgateServer
import TollgateStorage

extension Tollgate {
    struct Cache: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Inspect and maintain the blob cache (safe while `serve` runs).",
            subcommands: [Stats.self, Prune.self, Verify.self])

        struct Stats: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Size, blob count, hit ratio (last 30 days), by upstream, top repositories.")
            @OptionGroup var options: ConfigOption
            @Flag(help: "JSON output.") var json = false

            func run() async throws {
                try await options.runAsync { config in
                    let store = try openStore(config)
                    let (blobs, bytes) = try await store.cachedBytes()
                    let since = CivilDate(unixSeconds: Int64(Date().timeIntervalSince1970) - 29 * 86400).description
                    let usage = try await store.usage(since: since, user: nil)
                    let sent = usage.reduce(Int64(0)) { $0 + $1.bytesSent }
                    let hit = usage.reduce(Int64(0)) { $0 + $1.hitBytes }
                    let upstreams = try await store.sharesByUpstream()
                    let top = try await store.topRepositories(limit: 10)
                    let damaged = (try? FileManager.default.contentsOfDirectory(atPath: config.storage.path + "/damaged"))?.count ?? 0
                    let ratio: Double? = sent > 0 ? Double(hit) / Double(sent) : nil
                    if json {
                        func shares(_ s: [CacheShare]) -> [[String: Any]] {
                            s.map { ["name": $0.name, "blobs": $0.blobs, "bytes": $0.bytes] }
                        }
                        let object: [String: Any] = [
                            "blobs": blobs, "bytes": bytes, "max_size": config.storage.maxSize.map { $0 as Any } ?? NSNull(),
                            "hit_ratio": ratio.map { $0 as Any } ?? NSNull(), "bytes_sent_30d": sent, "cache_bytes_30d": hit,
                            "by_upstream": shares(upstreams), "top_repositories": shares(top), "damaged": damaged,
                        ]
                        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                        print(String(decoding: data, as: UTF8.self))
                        return
                    }
                    let limit = config.storage.maxSize.map { " of \(ByteCount.format($0)) (\(bytes * 100 / max($0, 1))%)" } ?? ""
                    print("size        \(ByteCount.format(bytes))\(limit)")
                    print("blobs       \(blobs)")
                    print(
                        "hit ratio   "
                            + (ratio.map { String(format: "%.1f%% of %@ sent in 30 days", $0 * 100, ByteCount.format(sent)) } ?? "-"))
                    if damaged > 0 { print("damaged     \(damaged) file(s) in \(config.storage.path)/damaged") }
                    print("\nBY UPSTREAM")
                    for s in upstreams { print("  \(s.name.padding(toLength: 40, withPad: " ", startingAt: 0)) \(ByteCount.format(s.bytes)) in \(s.blobs) blobs") }
                    print("\nTOP REPOSITORIES")
                    for s in top { print("  \(s.name.padding(toLength: 40, withPad: " ", startingAt: 0)) \(ByteCount.format(s.bytes)) in \(s.blobs) blobs") }
                }
            }
        }

        struct Prune: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Evict least recently used blobs: down to a size, and/or those unused for a while.",
                discussion: """
                    Blobs used in the last 10 seconds and manifests a cached tag points at are kept. A running
                    server fetches anything removed again when it is next asked for.
                    """)
            @OptionGroup var options: ConfigOption
            @Option(help: "Evict until the cache is at most this size (e.g. 50GiB); default storage.max_size.")
            var maxSize: String?
            @Option(help: "Evict blobs not used for this long (e.g. 30d).") var olderThan: String?
            @Flag(help: "Only report what would be evicted.") var dryRun = false

            func run() async throws {
                try await options.runAsync { config in
                    var target: Int64? = config.storage.maxSize
                    if let maxSize {
                        guard let v = ConfigValues.size(maxSize) else { throw CLIError("--max-size: not a size (examples: 500MB, 20GiB)") }
                        target = v
                    }
                    var cutoff: Double?
                    if let olderThan {
                        guard let d = ConfigValues.duration(olderThan) else { throw CLIError("--older-than: not a duration (examples: 12h, 30d)") }
                        cutoff = Date().timeIntervalSince1970 - Double(d.components.seconds)
                    }
                    guard target != nil || cutoff != nil else {
                        throw CLIError("nothing to do: give --max-size or --older-than (storage.max_size is not set)")
                    }
                    let (janitor, store) = try makeJanitor(config)
                    let (_, before) = try await store.cachedBytes()
                    var total = (blobs: 0, bytes: Int64(0))
                    if let cutoff {
                        let r = await janitor.evict(down: .max, olderThan: cutoff, dryRun: dryRun)
                        total = (total.blobs + r.blobs, total.bytes + r.bytes)
                    }
                    if let target, before - total.bytes > target {
                        let r = await janitor.evict(down: before - total.bytes - target, dryRun: dryRun)
                        total = (total.blobs + r.blobs, total.bytes + r.bytes)
                    }
                    let verb = dryRun ? "would evict" : "evicted"
                    print("\(verb) \(total.blobs) blobs, \(ByteCount.format(total.bytes)); cache \(ByteCount.format(before)) → \(ByteCount.format(before - total.bytes))")
                }
            }
        }

        struct Verify: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Hash every stored blob; move damaged ones to <storage>/damaged/ (exit 1 if any).")
            @OptionGroup var options: ConfigOption

            func run() async throws {
                var damaged = 0
                try await options.runAsync { config in
                    let (janitor, _) = try makeJanitor(config)
                    let blobs = try await FileBlobStore(root: config.storage.path).allBlobs()
                    let total = blobs.reduce(Int64(0)) { $0 + $1.size }
                    let tty = isatty(2) == 1
                    var done: Int64 = 0
                    for (i, blob) in blobs.enumerated() {
                        if let to = await janitor.verify(blob.digest) {
                            damaged += 1
                            FileHandle.standardError.write(Data("\(tty ? "\r\u{1B}[K" : "")damaged: \(blob.digest) moved to \(to)\n".utf8))
                        }
                        done += blob.size
                        if tty {
                            let pct = total > 0 ? Int(done * 100 / total) : 100
                            let bar = String(repeating: "#", count: pct / 4).padding(toLength: 25, withPad: ".", startingAt: 0)
                            FileHandle.standardError.write(Data("\r[\(bar)] \(pct)% \(i + 1)/\(blobs.count) blobs, \(ByteCount.format(done))".utf8))
                        }
                    }
                    if tty { FileHandle.standardError.write(Data("\n".utf8)) }
                    print("\(blobs.count) blobs (\(ByteCount.format(total))) checked, \(damaged) damaged")
                }
                if damaged > 0 { throw ExitCode(1) }
            }
        }
    }
}

/// A janitor over the configured storage, for the cache commands.
func makeJanitor(_ config: TollgateConfiguration) throws -> (CacheJanitor, SQLiteMetadataStore) {
    let store = try openStore(config)
    let files = try FileBlobStore(root: config.storage.path, clearTemporary: false)
    let cache = PullThroughCache(blobs: files, metadata: store, logger: Logger(label: "tollgate.cache"))
    return (
        CacheJanitor(cache: cache, files: files, store: store, maxSize: config.storage.maxSize, logger: Logger(label: "tollgate.cache")),
        store
    )
}
