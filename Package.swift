// swift-tools-version: 6.1
import PackageDescription

/// Settings every target shares: Swift 6 language mode with the upcoming features that keep
/// module boundaries honest (see EXAMPLES.md §2).
let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "swift-lambda-pipeline",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "awssign", targets: ["awssign"]),
        .executable(name: "local-stack", targets: ["local-stack"]),
        .executable(name: "pipelinectl", targets: ["pipelinectl"]),
        .executable(name: "bench", targets: ["Bench"]),
        .executable(name: "opensearch-standin", targets: ["opensearch-standin"]),
        .executable(name: "probe-lambda", targets: ["probe-lambda"]),
        .executable(name: "processing-lambda", targets: ["processing-lambda"]),
        .executable(name: "dropbox-lambda", targets: ["dropbox-lambda"]),
        .executable(name: "ingest-lambda", targets: ["ingest-lambda"]),
    ],
    targets: [
        // MARK: System libraries
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        /// Pins glibc symbol versions so static-stdlib binaries run on Lambda's glibc 2.34.
        .target(name: "CGlibcCompat"),

        // MARK: Foundations (no I/O)
        /// Hex, percent-encoding, UTC time and the clock seam.
        .target(name: "Primitives", swiftSettings: strictSettings),
        /// A small, fast JSON value type with a parser and a writer (no Foundation).
        .target(name: "JSONCodec", swiftSettings: strictSettings),
        /// A small XML reader and writer for REST-XML services (no Foundation).
        .target(name: "XMLCodec", swiftSettings: strictSettings),
        /// Streaming gzip inflate (bounded output, bomb limits) and deflate on zlib.
        .target(name: "Gzip", dependencies: ["CZlib"], swiftSettings: strictSettings),
        /// SigV4: canonical requests, header and query signing, chunk signing. Pure code.
        .target(name: "AWSSigV4", dependencies: ["CCrypto", "Primitives"], swiftSettings: strictSettings),
        /// Raw Snappy block compression (Parquet's default codec). Pure Swift.
        .target(name: "Snappy", swiftSettings: strictSettings),
        /// A streaming Parquet writer (Thrift compact footer, dictionary/plain pages, statistics) and a
        /// JSON-lines reader that fills it.
        .target(name: "Parquet", dependencies: ["Snappy", "Primitives"], swiftSettings: strictSettings),

        // MARK: I/O
        /// The HTTP seam (`HTTPTransport`) and its libcurl implementation.
        .target(name: "HTTPTransport", dependencies: ["CCurl", "Primitives"], swiftSettings: strictSettings),
        /// What every AWS service client shares: credentials, region, endpoints, retries, errors.
        .target(
            name: "AWSCore",
            dependencies: ["AWSSigV4", "HTTPTransport", "JSONCodec", "XMLCodec", "Primitives"],
            swiftSettings: strictSettings
        ),
        /// S3, SQS, DynamoDB, SSM Parameter Store and OpenSearch, on `AWSClient`.
        .target(
            name: "AWSClients",
            dependencies: ["AWSCore", "AWSSigV4", "Gzip", "HTTPTransport", "JSONCodec", "XMLCodec", "Primitives"],
            swiftSettings: strictSettings
        ),
        /// The pipeline's settings: environment variables, the dataset catalog, key patterns, index names.
        .target(name: "PipelineSettings", dependencies: ["JSONCodec", "Primitives"], swiftSettings: strictSettings),
        /// Streaming record readers: JSON lines, CSV and JSON documents, in constant memory; record ids.
        .target(
            name: "RecordReaders",
            dependencies: ["JSONCodec", "Primitives", "PipelineSettings", "AWSSigV4"],
            swiftSettings: strictSettings
        ),
        /// The Lambda Runtime API loop, invocation context, SQS-of-S3 batches, replay, logs, metrics.
        .target(
            name: "LambdaRuntime",
            dependencies: ["HTTPTransport", "JSONCodec", "Primitives"],
            swiftSettings: strictSettings
        ),
        /// What the pipeline's handlers share: AWS clients from the environment, the dataset catalog
        /// from SSM or a file, the status table (idempotent claims), verified server-side moves.
        .target(
            name: "PipelineCore",
            dependencies: ["AWSCore", "AWSClients", "HTTPTransport", "JSONCodec", "LambdaRuntime", "PipelineSettings", "Primitives"],
            swiftSettings: strictSettings
        ),
        /// The ingest handler: streams files under `in/` into OpenSearch, files them, records the outcome.
        .target(
            name: "IngestHandler",
            dependencies: [
                "PipelineCore", "AWSClients", "AWSCore", "Gzip", "HTTPTransport", "JSONCodec", "LambdaRuntime", "PipelineSettings",
                "Primitives", "RecordReaders",
            ],
            swiftSettings: strictSettings
        ),
        /// The dropbox handler: checks each new file and moves it to the ingest bucket or to `rejected/`.
        .target(
            name: "DropboxHandler",
            dependencies: [
                "PipelineCore", "AWSCore", "AWSClients", "Gzip", "JSONCodec", "LambdaRuntime", "PipelineSettings", "Primitives",
                "RecordReaders",
            ],
            swiftSettings: strictSettings
        ),

        /// The analysts' star-schema specification and the transformation engine (pure: no I/O).
        .target(name: "StarSchema", dependencies: ["JSONCodec", "Parquet", "Primitives"], swiftSettings: strictSettings),
        /// The processing handler: table extracts to a star schema in Parquet, incrementally, with watermarks.
        .target(
            name: "ProcessingHandler",
            dependencies: [
                "StarSchema", "Parquet", "PipelineCore", "AWSCore", "AWSClients", "HTTPTransport", "JSONCodec",
                "LambdaRuntime", "PipelineSettings", "Primitives", "RecordReaders",
            ],
            swiftSettings: strictSettings
        ),

        // MARK: Stand-ins for local runs and tests (Foundation allowed: never in a Lambda binary)
        /// A scripted HTTP/1.1 server on loopback.
        .target(name: "LoopbackHTTP", swiftSettings: strictSettings),
        /// An HTTP proxy on loopback that faults a seeded share of requests (the chaos run).
        .target(name: "FaultProxy", dependencies: ["LoopbackHTTP", "Primitives"], swiftSettings: strictSettings),
        /// A Lambda Runtime API on loopback that drives real bootstraps.
        .target(
            name: "RuntimeAPIStandIn",
            dependencies: ["LoopbackHTTP", "JSONCodec", "Primitives"],
            swiftSettings: strictSettings
        ),
        /// An OpenSearch-compatible server (the subset the pipeline uses), SigV4-checked, persistent.
        .target(
            name: "OpenSearchStandIn",
            dependencies: ["LoopbackHTTP", "AWSSigV4", "Gzip", "JSONCodec", "Primitives"],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),

        /// The local stack: moto, the OpenSearch stand-in, the template's resources, sample data, an
        /// SQS event-source runner driving the real bootstraps, the summary; and `pipelinectl`'s commands.
        .target(
            name: "LocalStack",
            dependencies: [
                "AWSClients", "AWSCore", "FaultProxy", "HTTPTransport", "JSONCodec", "OpenSearchStandIn", "PipelineCore", "PipelineSettings",
                "Primitives", "RuntimeAPIStandIn",
            ],
            swiftSettings: strictSettings
        ),

        // MARK: Executables
        /// `awssign`: sign and send an arbitrary request (like awscurl).
        .executableTarget(name: "awssign", dependencies: ["AWSCore", "CGlibcCompat"], swiftSettings: strictSettings),
        /// `local-stack`: the whole pipeline on loopback (the README's main command).
        .executableTarget(name: "local-stack", dependencies: ["LocalStack"], swiftSettings: strictSettings),
        /// `pipelinectl`: the operator's command (status, re-drive, re-submit).
        .executableTarget(name: "pipelinectl", dependencies: ["LocalStack"], swiftSettings: strictSettings),
        /// `opensearch-standin`: the OpenSearch stand-in as a process.
        .executableTarget(name: "opensearch-standin", dependencies: ["OpenSearchStandIn"], swiftSettings: strictSettings),
        /// A minimal bootstrap with the handlers' set-up, for runtime tests and the cold-start benchmark.
        .executableTarget(
            name: "probe-lambda",
            dependencies: ["LambdaRuntime", "AWSCore", "AWSClients", "CGlibcCompat"],
            swiftSettings: strictSettings
        ),
        /// `ingest-lambda`: the ingest handler's bootstrap.
        .executableTarget(
            name: "ingest-lambda",
            dependencies: ["IngestHandler", "LambdaRuntime", "CGlibcCompat"],
            swiftSettings: strictSettings
        ),
        /// The processing Lambda's bootstrap.
        .executableTarget(
            name: "processing-lambda",
            dependencies: ["ProcessingHandler", "LambdaRuntime", "CGlibcCompat"],
            swiftSettings: strictSettings
        ),
        /// The dropbox Lambda's bootstrap.
        .executableTarget(
            name: "dropbox-lambda",
            dependencies: ["DropboxHandler", "LambdaRuntime", "CGlibcCompat"],
            swiftSettings: strictSettings
        ),
        /// `bench`: side-by-side benchmarks against the Python peers.
        .executableTarget(
            name: "Bench",
            dependencies: [
                "AWSCore",
                "AWSSigV4",
                "AWSClients",
                "DropboxHandler",
                "HTTPTransport",
                "IngestHandler",
                "JSONCodec",
                "LambdaRuntime",
                "LoopbackHTTP",
                "OpenSearchStandIn",
                "Parquet",
                "PipelineCore",
                "PipelineSettings",
                "Primitives",
                "RecordReaders",
                "RuntimeAPIStandIn",
            ],
            swiftSettings: strictSettings
        ),

        // MARK: Test support and tests
        .target(
            name: "TestSupport",
            dependencies: ["Primitives", "AWSSigV4", "HTTPTransport", "JSONCodec", "LoopbackHTTP"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LocalStackTests",
            dependencies: [
                "LocalStack", "AWSClients", "AWSCore", "FaultProxy", "HTTPTransport", "JSONCodec", "LoopbackHTTP", "Parquet", "PipelineCore", "Primitives",
                "RuntimeAPIStandIn",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FaultProxyTests",
            dependencies: [
                "FaultProxy", "LoopbackHTTP", "AWSClients", "AWSCore", "AWSSigV4", "HTTPTransport", "JSONCodec", "PipelineCore", "Primitives", "TestSupport",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PrimitivesTests", dependencies: ["Primitives", "JSONCodec", "XMLCodec"], swiftSettings: strictSettings),
        .testTarget(
            name: "GzipTests",
            dependencies: ["Gzip", "TestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AWSSigV4Tests",
            dependencies: ["AWSSigV4", "Primitives", "TestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SnappyTests", dependencies: ["Snappy", "Primitives", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(
            name: "ParquetTests",
            dependencies: ["Parquet", "Snappy", "Primitives", "JSONCodec", "TestSupport"],
            exclude: ["Scripts"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HTTPTransportTests",
            dependencies: ["HTTPTransport", "TestSupport", "LoopbackHTTP"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AWSCoreTests",
            dependencies: ["AWSCore", "TestSupport", "HTTPTransport", "AWSSigV4", "JSONCodec", "Primitives", "LoopbackHTTP"],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AWSClientsTests",
            dependencies: [
                "AWSClients", "AWSCore", "TestSupport", "HTTPTransport", "AWSSigV4", "JSONCodec", "XMLCodec", "Primitives",
                "OpenSearchStandIn", "LoopbackHTTP",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "OpenSearchStandInTests",
            dependencies: ["OpenSearchStandIn", "AWSSigV4", "Gzip", "HTTPTransport", "JSONCodec", "Primitives", "TestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PipelineSettingsTests",
            dependencies: ["PipelineSettings", "JSONCodec", "Primitives"],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RecordReadersTests",
            dependencies: ["RecordReaders", "PipelineSettings", "JSONCodec", "Primitives", "AWSSigV4"],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LambdaRuntimeTests",
            dependencies: [
                "LambdaRuntime", "RuntimeAPIStandIn", "HTTPTransport", "JSONCodec", "Primitives", "TestSupport", "LoopbackHTTP",
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "StarSchemaTests",
            dependencies: ["StarSchema", "Parquet", "JSONCodec", "Primitives"],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ProcessingHandlerTests",
            dependencies: [
                "ProcessingHandler", "StarSchema", "Parquet", "PipelineCore", "AWSCore", "AWSClients", "AWSSigV4",
                "HTTPTransport", "JSONCodec", "LambdaRuntime", "PipelineSettings", "Primitives", "TestSupport",
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PipelineCoreTests",
            dependencies: [
                "PipelineCore", "AWSClients", "AWSCore", "AWSSigV4", "HTTPTransport", "JSONCodec", "LambdaRuntime", "PipelineSettings", "Primitives",
                "TestSupport",
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "DropboxHandlerTests",
            dependencies: [
                "DropboxHandler", "PipelineCore", "AWSClients", "AWSCore", "AWSSigV4", "Gzip", "HTTPTransport", "JSONCodec", "LambdaRuntime",
                "PipelineSettings", "Primitives", "RuntimeAPIStandIn", "TestSupport",
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        /// The bootstraps run with a role session's credentials through success and failure paths,
        /// and nothing they produce may hold a secret; TLS verification cannot be switched off.
        .testTarget(
            name: "SecurityTests",
            dependencies: [
                "AWSClients", "AWSCore", "AWSSigV4", "HTTPTransport", "JSONCodec", "LoopbackHTTP", "OpenSearchStandIn", "PipelineCore",
                "Primitives", "RuntimeAPIStandIn", "TestSupport",
            ],
            exclude: ["Scripts"],
            swiftSettings: strictSettings
        ),
            .testTarget(
            name: "IngestHandlerTests",
            dependencies: [
                "IngestHandler", "DropboxHandler", "PipelineCore", "AWSClients", "AWSCore", "AWSSigV4", "Gzip", "HTTPTransport", "JSONCodec", "LambdaRuntime",
                "LoopbackHTTP", "OpenSearchStandIn", "PipelineSettings", "Primitives", "RecordReaders", "TestSupport",
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
    ]
)
