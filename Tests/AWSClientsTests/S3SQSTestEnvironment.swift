import AWSClients
import AWSCore
import AWSSigV4
import Foundation
import HTTPTransport
import Primitives
import Synchronization
import TestSupport

/// Clients for the S3 and SQS tests, talking to a real moto (signature checking on unless asked
/// otherwise) through the real libcurl transport.
enum S3SQSTestEnvironment {
    /// One transport for every test in the process (it keeps connections alive).
    static let transport: CurlTransport = {
        do { return try CurlTransport() } catch { fatalError("libcurl could not start: \(error)") }
    }()

    static func awsClient(
        _ service: AWSService, stack: MotoStack, secret: String? = nil, accessKeyId: String? = nil,
        maxAttempts: Int = 3
    ) throws -> AWSClient {
        var environment = stack.environment
        environment["AWS_MAX_ATTEMPTS"] = String(maxAttempts)
        let settings = try AWSSettings(environment: Environment(environment))
        let credentials = StaticCredentialProvider(
            AWSCredentials(accessKeyId: accessKeyId ?? stack.accessKeyId, secretAccessKey: secret ?? stack.secretAccessKey))
        return try AWSClient(service: service, settings: settings, credentials: credentials, transport: transport, quota: RetryQuota())
    }

    static func s3(auth: Bool = true, secret: String? = nil) async throws -> S3Client {
        S3Client(client: try awsClient(.s3, stack: try await SharedMoto.get(auth: auth), secret: secret))
    }

    static func sqs(auth: Bool = true, secret: String? = nil, accessKeyId: String? = nil) async throws -> SQSClient {
        SQSClient(client: try awsClient(.sqs, stack: try await SharedMoto.get(auth: auth), secret: secret, accessKeyId: accessKeyId))
    }

    /// A bucket name no other test uses.
    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.lowercased().prefix(12))"
    }

    /// A new bucket.
    static func bucket(_ s3: S3Client, _ prefix: String = "s3test") async throws -> String {
        let name = uniqueName(prefix)
        try await s3.createBucket(name)
        return name
    }

    /// Deterministic pseudo-random bytes (so a mismatch shows where).
    static func pattern(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
        var state = seed
        var out = [UInt8](repeating: 0, count: count)
        var index = 0
        while index < count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            var word = state >> 11
            for _ in 0..<min(5, count - index) {
                out[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                index += 1
            }
        }
        return out
    }

    /// A pull stream that hands out `bytes` in pieces of `piece` bytes, declaring `length`.
    static func stream(_ bytes: [UInt8], piece: Int, declaring length: Int64?) -> HTTPBodyStream {
        let offset = Mutex(0)
        return HTTPBodyStream(length: length) {
            offset.withLock { position -> [UInt8]? in
                guard position < bytes.count else { return nil }
                let end = min(position + piece, bytes.count)
                defer { position = end }
                return Array(bytes[position..<end])
            }
        }
    }

    /// Reads a whole streamed body.
    static func collect(_ body: HTTPResponseBody) async throws -> [UInt8] {
        try await body.collect()
    }
}

