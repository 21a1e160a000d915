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
        .executable(name: "bench", targets: ["Bench"]),
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

        /// Pins glibc symbol versions so static-stdlib binaries run on Lambda's glibc 2.34.
        .target(name: "CGlibcCompat"),

        // MARK: Foundations (no I/O)
        /// Hex, percent-encoding, UTC time and the clock seam.
        .target(name: "Primitives", swiftSettings: strictSettings),
        /// A small, fast JSON value type with a parser and a writer (no Foundation).
        .target(name: "JSONCodec", swiftSettings: strictSettings),
        /// A small XML reader and writer for REST-XML services (no Foundation).
        .target(name: "XMLCodec", swiftSettings: strictSettings),
        /// SigV4: canonical requests, header and query signing, chunk signing. Pure code.
        .target(name: "AWSSigV4", dependencies: ["CCrypto", "Primitives"], swiftSettings: strictSettings),

        // MARK: I/O
        /// The HTTP seam (`HTTPTransport`) and its libcurl implementation.
        .target(name: "HTTPTransport", dependencies: ["CCurl", "Primitives"], swiftSettings: strictSettings),
        /// What every AWS service client shares: credentials, region, endpoints, retries, errors.
        .target(
            name: "AWSCore",
            dependencies: ["AWSSigV4", "HTTPTransport", "JSONCodec", "XMLCodec", "Primitives"],
            swiftSettings: strictSettings
        ),

        // MARK: Executables
        /// `awssign`: sign and send an arbitrary request (like awscurl).
        .executableTarget(name: "awssign", dependencies: ["AWSCore", "CGlibcCompat"], swiftSettings: strictSettings),
        /// `bench`: side-by-side benchmarks against the Python peers.
        .executableTarget(
            name: "Bench",
            dependencies: ["AWSCore", "AWSSigV4", "HTTPTransport", "Primitives"],
            swiftSettings: strictSettings
        ),

        // MARK: Test support and tests
        .target(
            name: "TestSupport",
            dependencies: ["Primitives", "HTTPTransport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PrimitivesTests", dependencies: ["Primitives", "JSONCodec", "XMLCodec"], swiftSettings: strictSettings),
        .testTarget(
            name: "AWSSigV4Tests",
            dependencies: ["AWSSigV4", "Primitives"],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HTTPTransportTests",
            dependencies: ["HTTPTransport", "TestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AWSCoreTests",
            dependencies: ["AWSCore", "TestSupport", "HTTPTransport", "AWSSigV4", "JSONCodec", "Primitives"],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
    ]
)
