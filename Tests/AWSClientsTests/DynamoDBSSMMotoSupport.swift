import AWSClients
import AWSCore
import AWSSigV4
import HTTPTransport
import Primitives
import Synchronization
import TestSupport

/// Clients for the DynamoDB and SSM tests, talking through the real libcurl transport to the
/// shared signature-checking moto server.
enum DynamoDBSSMMoto {
    /// One transport for the whole test process (a libcurl multi engine is meant to be shared).
    static let transport: CurlTransport = {
        do { return try CurlTransport() } catch { fatalError("libcurl transport did not start: \(error)") }
    }()

    /// An `AWSClient` for `service` on moto, built from the environment moto gives, as a handler would.
    /// - Parameters:
    ///   - secretOverride: sign with this secret instead of the real one (a tampered key).
    ///   - transport: a wrapper around the shared transport, to count or slow requests.
    static func client(
        _ service: AWSService, secretOverride: String? = nil, transport: (any HTTPTransport)? = nil
    ) async throws -> AWSClient {
        let moto = try await SharedMoto.get()
        let settings = try AWSSettings(environment: Environment(moto.environment))
        let credentials = AWSCredentials(accessKeyId: moto.accessKeyId, secretAccessKey: secretOverride ?? moto.secretAccessKey)
        return try AWSClient(
            service: service, settings: settings, credentials: StaticCredentialProvider(credentials),
            transport: transport ?? Self.transport, quota: RetryQuota())
    }

    static func dynamoDB(secretOverride: String? = nil) async throws -> DynamoDBClient {
        DynamoDBClient(client: try await client(.dynamoDB, secretOverride: secretOverride))
    }

    static func ssm(secretOverride: String? = nil, transport: (any HTTPTransport)? = nil) async throws -> SSMClient {
        SSMClient(client: try await client(.ssm, secretOverride: secretOverride, transport: transport))
    }

    /// A name no other test (or earlier run against the same server) uses.
    static func uniqueName(_ prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        return "\(prefix)-\(Hex.encode((0..<6).map { _ in UInt8.random(in: 0...255, using: &generator) }))"
    }
}

/// Forwards to another transport, counting requests per `X-Amz-Target` operation and optionally
/// holding each one back for a while (so that concurrent callers really overlap).
final class CountingTransport: HTTPTransport {
    private let inner: any HTTPTransport
    private let delay: Duration
    private let counts = Mutex<[String: Int]>([:])

    init(_ inner: any HTTPTransport, delay: Duration = .zero) {
        self.inner = inner
        self.delay = delay
    }

    /// Requests sent for `operation` (`GetParameter`…).
    func count(_ operation: String) -> Int { counts.withLock { $0[operation] ?? 0 } }

    func send(_ request: HTTPRequest, options: HTTPRequestOptions) async throws(HTTPError) -> HTTPStreamingResponse {
        let target = request.headers["X-Amz-Target"] ?? ""
        let operation = String(target.split(separator: ".").last ?? "")
        counts.withLock { $0[operation, default: 0] += 1 }
        if delay > .zero { try? await Task.sleep(for: delay) }
        return try await inner.send(request, options: options)
    }
}
