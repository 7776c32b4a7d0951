import ArgumentParser
import Foundation
import Logging
import TollgateLimits
import TollgateFileStorage
import TollgateProxy
import TollgateServer

extension Tollgate {
    struct Cache: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Inspect and maintain the blob cache (safe while `serve` runs).",
            subcommands: [Stats.self, Prune.self, Verify.self, Remove.self])

        struct Stats: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Size, blob count, hit ratio (last 30 days), by upstream, top repositories.")
            @OptionGroup var options: ConfigOption
            @Flag(help: "JSON output.") var json = false

            func run() async throws {
                try await options.runAsync { config in
                    let stats = try await OpenedStorage.admin(config).cacheStats()
                    let (blobs, bytes, sent, hit) = (stats.blobs, stats.bytes, stats.sent30d, stats.hit30d)
                    let (upstreams, top, damaged) = (stats.byUpstream, stats.topRepositories, stats.quarantined)
                    let ratio = stats.hitRatio
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
                    Blobs used in the last 10 seconds and manifests a cached tag points at are kept. A running \
                    server fetches anything removed again when it is next asked for.
                    """)
            @OptionGroup var options: ConfigOption
            @Option(help: "Evict until the cache is at most this size (e.g. 50GiB); default storage.max_size.")
            var maxSize: String?
            @Option(help: "Evict blobs not used for this long (e.g. 30d).") var olderThan: String?
            @Flag(help: "Only report what would be evicted.") var dryRun = false

            func run() async throws {
                try await options.runAsync { config in
                    var target: Int64?
                    if let maxSize {
                        guard let v = ConfigValues.size(maxSize) else { throw CLIError("--max-size: not a size (examples: 500MB, 20GiB)") }
                        target = v
                    }
                    var cutoff: Double?
                    if let olderThan {
                        guard let d = ConfigValues.duration(olderThan) else { throw CLIError("--older-than: not a duration (examples: 12h, 30d)") }
                        cutoff = Date().timeIntervalSince1970 - Double(d.components.seconds)
                    }
                    let total = try await OpenedStorage.admin(config).pruneCache(
                        maxSize: target, olderThan: cutoff, dryRun: dryRun)
                    let before = total.before
                    let verb = dryRun ? "would evict" : "evicted"
                    print("\(verb) \(total.blobs) blobs, \(ByteCount.format(total.bytes)); cache \(ByteCount.format(before)) → \(ByteCount.format(before - total.bytes))")
                }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "rm",
                abstract: "Evict a tag, a repository or everything of an upstream (for every user).",
                discussion: """
                    UPSTREAM/REPO:TAG removes the tag and the content only it names (its manifests, configs and \
                    layers no other tag of the repository uses); UPSTREAM/REPO the repository's tags and links; \
                    UPSTREAM everything fetched from that upstream. Blobs nothing else links are deleted.

                    A running server applies the order at once (in a cluster, every node); the next pull \
                    fetches from the upstream again. Names are as cached: docker.io/library/alpine, not \
                    docker.io/alpine.
                    """)
            @OptionGroup var options: ConfigOption
            @Argument(help: "UPSTREAM, UPSTREAM/REPO or UPSTREAM/REPO:TAG (e.g. docker.io/library/alpine:3.19).")
            var scope: String

            func run() async throws {
                try await options.runAsync { config in
                    let admin = try await OpenedStorage.admin(config)
                    let done = try await admin.evictCache(scope)
                    let r = done.removed
                    var line = "evicted \(done.scope): \(r.tags) tag record(s), \(r.blobs) blob(s), \(ByteCount.format(r.bytes))"
                    if config.cluster != nil { line += " on this node; the other nodes apply order \(done.order) themselves" }
                    print(line)
                    // The server beside this command forgets what it remembered within a quarter
                    // second; say so once it has, so that the next pull is known to go upstream.
                    if let pid = StorageLock.runningHolder(root: config.storage.path) {
                        let deadline = ContinuousClock.now + .seconds(5)
                        var applied = try await admin.evictionApplied(done.order)
                        while !applied, ContinuousClock.now < deadline {
                            try await Task.sleep(for: .milliseconds(50))
                            applied = try await admin.evictionApplied(done.order)
                        }
                        print(applied ? "the running server (pid \(pid)) has applied it" : "the running server (pid \(pid)) has not applied it yet; it will when it next reads its settings")
                    }
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
                    let admin = try await OpenedStorage.admin(config)
                    let tty = isatty(2) == 1
                    var done: Int64 = 0
                    var known: Int64?
                    let blobs = try await admin.verifyCache { i, blobs, quarantinedTo in
                        let blob = blobs[i]
                        if let to = quarantinedTo {
                            damaged += 1
                            FileHandle.standardError.write(Data("\(tty ? "\r\u{1B}[K" : "")damaged: \(blob.digest) moved to \(to)\n".utf8))
                        }
                        done += blob.size
                        if tty {
                            let all = known ?? blobs.reduce(Int64(0)) { $0 + $1.size }
                            known = all
                            let pct = all > 0 ? Int(done * 100 / all) : 100
                            let bar = String(repeating: "#", count: pct / 4).padding(toLength: 25, withPad: ".", startingAt: 0)
                            FileHandle.standardError.write(Data("\r[\(bar)] \(pct)% \(i + 1)/\(blobs.count) blobs, \(ByteCount.format(done))".utf8))
                        }
                    }
                    let total = blobs.reduce(Int64(0)) { $0 + $1.size }
                    if tty { FileHandle.standardError.write(Data("\n".utf8)) }
                    print("\(blobs.count) blobs (\(ByteCount.format(total))) checked, \(damaged) damaged")
                }
                if damaged > 0 { throw ExitCode(1) }
            }
        }
    }
}
