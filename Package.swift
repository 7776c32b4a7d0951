// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "tollgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tollgate", targets: ["tollgate"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", exact: "1.8.0"),
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", exact: "5.8.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", exact: "1.7.4"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", exact: "1.35.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", exact: "2.1.1"),
    ],
    targets: [
        // Pure values: names, references, digests, media types, errors, parsers. No I/O.
        .target(
            name: "RegistryCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // Client for one upstream registry: transport (exchanges, redirects, retries) and auth
        // (challenges, credentials providers, tokens).
        .target(
            name: "TollgateUpstream",
            dependencies: [
                "RegistryCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Pull-through cache logic: manifests, blobs, tags, single-flight fills, tee streaming,
        // the janitor; its ports: content index, cache index, blob store.
        .target(
            name: "TollgateProxy",
            dependencies: [
                "RegistryCore", "TollgateUpstream",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The system's libcrypt, for bcrypt (crypt_rn).
        .systemLibrary(name: "CCrypt", path: "Sources/CCrypt", providers: [.apt(["libcrypt-dev"])]),
        // Users (htpasswd, bcrypt), tokens (JWT), scopes, access policy, login throttling; its
        // ports: secret tokens, upstream secrets.
        .target(
            name: "TollgateAuth",
            dependencies: [
                "RegistryCore", "CCrypt",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Plans, rate limits, quotas and the usage ledger (in memory; made durable in batches); its
        // ports: usage ledger, limit windows, user settings.
        .target(
            name: "TollgateLimits",
            dependencies: [
                "RegistryCore",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Cluster membership (heartbeats, live nodes), cache ownership (rendezvous hashing) and
        // forwarded requests signed with the cluster secret; its port: the node store.
        .target(
            name: "TollgateCluster",
            dependencies: [
                "RegistryCore",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Use cases shared by the CLI and the server (users, tokens, upstream logins, usage, cache);
        // the cross-domain user-removal port.
        .target(
            name: "TollgateAdmin",
            dependencies: [
                "RegistryCore", "TollgateProxy", "TollgateAuth", "TollgateLimits",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Adapters on local files: the blob store (and the storage lock), the htpasswd user store.
        .target(
            name: "TollgateFileStorage",
            dependencies: [
                "RegistryCore", "TollgateProxy", "TollgateAuth",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Adapters on one SQLite database (GRDB, WAL): every port but the blob store.
        .target(
            name: "TollgateSQLite",
            dependencies: [
                "RegistryCore", "TollgateProxy", "TollgateAuth", "TollgateLimits", "TollgateAdmin",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // Adapters on PostgreSQL (postgres-nio), for several nodes sharing one database.
        .target(
            name: "TollgatePostgres",
            dependencies: [
                "RegistryCore", "TollgateAuth", "TollgateLimits", "TollgateAdmin", "TollgateCluster",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Configuration, routing, HTTP application; the composition root.
        // The web console: server-rendered pages over the admin use cases and the login; sessions
        // and form tokens (from TollgateAuth). Knows the HTTP layer only through its context protocol.
        .target(
            name: "TollgateWeb",
            dependencies: [
                "RegistryCore", "TollgateAuth", "TollgateLimits", "TollgateAdmin", "TollgateProxy", "TollgateUpstream",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TollgateServer",
            dependencies: [
                "RegistryCore", "TollgateUpstream", "TollgateProxy", "TollgateAuth", "TollgateLimits", "TollgateAdmin",
                "TollgateFileStorage", "TollgateSQLite", "TollgatePostgres", "TollgateCluster", "TollgateWeb",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "tollgate",
            dependencies: [
                "RegistryCore", "TollgateServer", "TollgateAuth", "TollgateLimits", "TollgateProxy", "TollgateAdmin",
                "TollgateFileStorage", "TollgateSQLite", "TollgatePostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Fakes for unit tests (a small in-memory upstream registry).
        .target(
            name: "TollgateTestSupport",
            dependencies: [
                "RegistryCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        // In-memory adapters of every storage port (SQLiteStore's semantics), for unit tests.
        .target(
            name: "TollgateInMemoryStores",
            dependencies: [
                "RegistryCore", "TollgateProxy", "TollgateAuth", "TollgateLimits", "TollgateAdmin", "TollgateCluster",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/InMemoryStores",
            swiftSettings: swiftSettings
        ),
        // One conformance suite per storage port, run against every adapter (swift-testing checks).
        .target(
            name: "TollgateStoreConformance",
            dependencies: [
                "RegistryCore", "TollgateProxy", "TollgateAuth", "TollgateLimits", "TollgateAdmin", "TollgateCluster",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/StoreConformance",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TollgateStoreConformanceTests",
            dependencies: [
                "TollgatePostgres", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                "TollgateStoreConformance", "TollgateInMemoryStores", "TollgateSQLite", "TollgateFileStorage",
            ],
            path: "Tests/StoreConformanceTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "RegistryCoreTests", dependencies: ["RegistryCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "TollgateWebTests",
            dependencies: [
                "TollgateWeb", "TollgateAuth", "TollgateAdmin", "TollgateLimits", "TollgateInMemoryStores", "RegistryCore",
                "TollgateUpstream", "TollgateProxy",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "TollgateClusterTests", dependencies: ["TollgateCluster", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "TollgateSQLiteTests",
            dependencies: [
                "TollgateSQLite", "TollgateFileStorage", "TollgateProxy", "TollgateAuth", "TollgateLimits", "TollgateAdmin",
                "RegistryCore", .product(name: "NIOCore", package: "swift-nio"), .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "TollgateAdminTests",
            dependencies: [
                "TollgateAdmin", "TollgateAuth", "TollgateLimits", "TollgateProxy", "TollgateInMemoryStores", "RegistryCore",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "TollgateAuthTests",
            dependencies: [
                "TollgateAuth", "RegistryCore", "TollgateSQLite", "TollgateFileStorage",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "TollgateLimitsTests",
            dependencies: ["TollgateLimits", "TollgateSQLite", "TollgateInMemoryStores", "RegistryCore"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "TollgateUpstreamTests",
            dependencies: [
                "TollgateUpstream", "TollgateTestSupport", "RegistryCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TollgateProxyTests",
            dependencies: [
                "TollgateProxy", "TollgateTestSupport", "RegistryCore", "TollgateFileStorage", "TollgateSQLite", "TollgateUpstream",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TollgateServerTests",
            dependencies: [
                "TollgateServer", "TollgateTestSupport", "TollgateAuth", "TollgateLimits", "RegistryCore", "TollgateSQLite",
                "TollgateAdmin", "TollgateUpstream",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
