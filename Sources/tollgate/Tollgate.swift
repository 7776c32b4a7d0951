import ArgumentParser
import Foundation
import Logging
import TollgateServer

@main
struct Tollgate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tollgate",
        abstract: "An authenticated pull-through mirror for container registries.",
        subcommands: [
            Serve.self, Config.self, User.self, Token.self, UpstreamCommand.self, Usage.self, Audit.self, Cache.self, DatabaseCommand.self,
        ])
}

/// `--config FILE`, shared by every command that needs the configuration.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: ./tollgate.yaml, else the built-in default).")
    var config: String?

    /// The configuration to use, and where it came from.
    func load() throws -> (TollgateConfiguration, String) {
        if let config {
            return (try TollgateConfiguration.load(path: config), config)
        }
        if FileManager.default.fileExists(atPath: "tollgate.yaml") {
            return (try TollgateConfiguration.load(path: "tollgate.yaml"), "tollgate.yaml")
        }
        return (.embeddedDefault, "built-in default")
    }
}

/// A one-line CLI error.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

extension ConfigOption {
    /// Runs `body` with the configuration; any error becomes one line on stderr and exit 1.
    func run(_ body: (TollgateConfiguration) throws -> Void) throws {
        do {
            try body(try load().0)
        } catch {
            throw fail(error)
        }
    }

    func runAsync(_ body: (TollgateConfiguration) async throws -> Void) async throws {
        do {
            try await body(try load().0)
        } catch {
            throw fail(error)
        }
    }
}

/// Prints one line per problem and exits non-zero, instead of a stack of Swift error text.
func fail(_ error: any Error) -> ExitCode {
    let text = (error as? ConfigurationError)?.problems.joined(separator: "\n") ?? "\(error)"
    FileHandle.standardError.write(Data("tollgate: \(text)\n".utf8))
    return ExitCode(1)
}

extension Tollgate {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the mirror.")
        @OptionGroup var options: ConfigOption

        func run() async throws {
            #if canImport(Glibc)
            // Blob chunks are 1 MiB buffers. Streams reuse theirs, but one still held by a socket
            // gets replaced, and glibc's adaptive mmap threshold puts such buffers in heap arenas
            // that fragment: 16 parallel 64 MiB transfers peaked at ~220-300 MiB resident. A fixed
            // threshold keeps them mmapped and returned on free (~90 MiB), at no measurable cost
            // now that buffers are reused.
            _ = glibcMallopt(-3 /* M_MMAP_THRESHOLD */, 128 * 1024)
            #endif
            let config: TollgateConfiguration
            let source: String
            do {
                (config, source) = try options.load()
            } catch {
                throw fail(error)
            }
            LogSetup.bootstrap(level: config.log.level, format: config.log.format)
            var logger = Logger(label: "tollgate")
            logger.logLevel = config.log.level
            logger.info("configuration loaded", metadata: ["source": "\(source)"])
            do {
                try await TollgateServer.run(config, logger: logger)
            } catch {
                throw fail(error)
            }
        }
    }

    struct Config: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Work with configuration files.", subcommands: [Check.self])

        struct Check: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Validate a configuration file; print each problem with its key path.")
            @Argument(help: "The YAML file to check.") var file: String

            func run() throws {
                do {
                    let c = try TollgateConfiguration.load(path: file)
                    print("\(file): ok (\(c.upstreamOrder.count) upstreams, listen \(c.listenDescription))")
                } catch let e as ConfigurationError {
                    for p in e.problems { print("\(file): \(p)") }
                    throw ExitCode(1)
                }
            }
        }
    }
}

#if canImport(Glibc)
/// glibc's `int mallopt(int, int)` from <malloc.h>, which the Glibc module doesn't export.
@_silgen_name("mallopt")
func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
