import AWSCore
import AWSSigV4
import HTTPTransport
import JSONCodec
import Primitives
import Synchronization
import Testing
import TestSupport

@Suite("Signed requests with standard retries")
struct AWSClientTests {
    static let credentials = StaticCredentialProvider(
        AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"))
    static let clock = ManualClock(Timestamp(secondsSinceEpoch: 1_440_938_160))  // 2015-08-30T12:36:00Z

    func client(
        _ transport: ClosureTransport, service: AWSService = .sqs, maxAttempts: Int = 3, quota: RetryQuota = RetryQuota(),
        sleeps: SleepRecorder = SleepRecorder()
    ) throws -> AWSClient {
        AWSClient(
            service: service, region: "us-east-1", endpoint: try ServiceEndpoint(parsing: "http://127.0.0.1:4566"),
            credentials: Self.credentials, transport: transport,
            retry: RetryStrategy(
                maxAttempts: maxAttempts, quota: quota, jitter: { 0.5 },
                sleep: { duration in sleeps.record(duration) }),
            clock: Self.clock)
    }

    static func status(_ code: Int, _ body: String = "") -> HTTPResponse {
        HTTPResponse(status: code, body: Array(body.utf8))
    }

    @Test("A request is signed with X-Amz-Date and an Authorization header for its service")
    func signsRequests() async throws {
        let transport = ClosureTransport { _, _ throws(HTTPError) in Self.status(200, "{}") }
        let response = try await client(transport).send(
            AWSRequest(method: "POST", headers: ["X-Amz-Target": "AmazonSQS.ListQueues", "Content-Type": "application/x-amz-json-1.0"], body: .bytes(Array("{}".utf8))))
        #expect(response.status == 200)
        let sent = try #require(transport.requests.first)
        #expect(sent.url == "http://127.0.0.1:4566/")
        #expect(sent.headers["X-Amz-Date"] == "20150830T123600Z")
        let authorization = try #require(sent.headers["Authorization"])
        #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sqs/aws4_request"))
        #expect(authorization.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-target"))
        #expect(sent.headers["x-amz-content-sha256"] == nil)
    }

    @Test("A service error that echoes the secret key or the session token has them masked, in its message and details")
    func echoedCredentialsMasked() async throws {
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
        let token = "IQoJb3JpZ2luX2VjEXAMPLE/session+token=="
        let transport = ClosureTransport { request, _ throws(HTTPError) in
            let echoed = "token \(request.headers["X-Amz-Security-Token"] ?? "") and key \(secret)"
            return Self.status(400, #"{"__type":"ValidationException","message":"\#(echoed)","Item":{"note":"\#(echoed)"}}"#)
        }
        let client = AWSClient(
            service: .dynamoDB, region: "us-east-1", endpoint: try ServiceEndpoint(parsing: "http://127.0.0.1:4566"),
            credentials: StaticCredentialProvider(AWSCredentials(accessKeyId: "ASIAEXAMPLE", secretAccessKey: secret, sessionToken: token)),
            transport: transport, retry: RetryStrategy(maxAttempts: 1), clock: Self.clock)
        do {
            _ = try await client.send(AWSRequest(method: "POST", body: .bytes(Array("{}".utf8))))
            Issue.record("the 400 was not an error")
        } catch {
            guard case .service(let service) = error else { throw error }
            #expect(service.message == "token [REDACTED] and key [REDACTED]")
            #expect(service.details?["Item"]?["note"]?.stringValue == "token [REDACTED] and key [REDACTED]")
            #expect(!error.description.contains(token) && !error.description.contains(secret))
        }
    }

    @Test("S3 requests carry x-amz-content-sha256")
    func s3ContentHash() async throws {
        let transport = ClosureTransport { _, _ throws(HTTPError) in Self.status(200) }
        _ = try await client(transport, service: .s3).send(AWSRequest(method: "GET", path: "/bucket/key"))
        let sent = try #require(transport.requests.first)
        #expect(sent.headers["x-amz-content-sha256"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test("Query parameters are encoded with the unreserved set")
    func queryEncoding() throws {
        let transport = ClosureTransport { _, _ throws(HTTPError) in Self.status(200) }
        let url = try client(transport, service: .s3).url(
            for: AWSRequest(method: "GET", path: "/bucket", query: [("list-type", "2"), ("prefix", "in/a b+c")]))
        #expect(url == "http://127.0.0.1:4566/bucket?list-type=2&prefix=in%2Fa%20b%2Bc")
    }

    @Test("A 503 is retried with full-jitter backoff until it succeeds")
    func retriesTransient() async throws {
        let sleeps = SleepRecorder()
        let transport = ClosureTransport { _, index throws(HTTPError) in
            index < 2 ? Self.status(503, #"{"__type":"ServiceUnavailable","message":"busy"}"#) : Self.status(200, "{}")
        }
        let response = try await client(transport, sleeps: sleeps).send(AWSRequest(method: "POST"))
        #expect(response.status == 200)
        #expect(transport.requests.count == 3)
        // rand 0.5 × min(2^(n-1) s, 20 s)
        #expect(sleeps.durations == [.milliseconds(500), .seconds(1)])
    }

    @Test("Throttling codes are retried; after the last attempt the typed error comes back")
    func throttlingExhausted() async throws {
        let transport = ClosureTransport { _, _ throws(HTTPError) in
            Self.status(400, #"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}"#)
        }
        await #expect {
            _ = try await client(transport, service: .dynamoDB).send(AWSRequest(method: "POST"))
        } throws: { error in
            (error as? AWSError)?.serviceCode == "ProvisionedThroughputExceededException"
        }
        #expect(transport.requests.count == 3)
    }

    @Test("A client error such as a failed condition is not retried")
    func noRetryOnClientError() async throws {
        let transport = ClosureTransport { _, _ throws(HTTPError) in
            Self.status(400, #"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"no"}"#)
        }
        await #expect(throws: AWSError.self) {
            _ = try await client(transport, service: .dynamoDB).send(AWSRequest(method: "POST"))
        }
        #expect(transport.requests.count == 1)
    }

    @Test("Connection resets are retried; a streamed body that cannot be replayed is not")
    func streamedBodyNotRetried() async throws {
        let transport = ClosureTransport { request, _ throws(HTTPError) in
            throw HTTPError(.connectionReset, url: request.url, detail: "reset")
        }
        let stream = HTTPBodyStream(length: 3) { nil }
        await #expect(throws: AWSError.self) {
            _ = try await client(transport, service: .s3).send(AWSRequest(method: "PUT", path: "/b/k", body: .stream(stream)))
        }
        #expect(transport.requests.count == 1)
        _ = try? await client(transport).send(AWSRequest(method: "POST"))
        #expect(transport.requests.count == 4)
    }

    @Test("AWS_MAX_ATTEMPTS bounds the attempts")
    func maxAttemptsRespected() async throws {
        let transport = ClosureTransport { _, _ throws(HTTPError) in Self.status(500) }
        _ = try? await client(transport, maxAttempts: 5).send(AWSRequest(method: "POST"))
        #expect(transport.requests.count == 5)
    }

    @Test("An empty retry quota stops retries; successes refill it")
    func retryQuota() async throws {
        let quota = RetryQuota(capacity: 12)
        let failing = ClosureTransport { _, _ throws(HTTPError) in Self.status(500) }
        _ = try? await client(failing, quota: quota).send(AWSRequest(method: "POST"))
        #expect(failing.requests.count == 3)  // two retries cost 10
        #expect(quota.available == 2)
        _ = try? await client(failing, quota: quota).send(AWSRequest(method: "POST"))
        #expect(failing.requests.count == 4)  // no tokens: no retry
        let ok = ClosureTransport { _, _ throws(HTTPError) in Self.status(200) }
        _ = try await client(ok, quota: quota).send(AWSRequest(method: "POST"))
        #expect(quota.available == 3)
    }

    @Test("A timeout retry costs ten tokens")
    func timeoutCost() {
        let quota = RetryQuota()
        #expect(quota.acquire(for: .timeout) == 10)
        #expect(quota.acquire(for: .transient) == 5)
        #expect(quota.available == 485)
    }

    @Test("The backoff is capped at 20 seconds")
    func backoffCap() {
        let strategy = RetryStrategy(jitter: { 0.999 })
        #expect(strategy.backoff(forRetry: 10) < .seconds(20))
        #expect(strategy.backoff(forRetry: 10) > .seconds(19))
        #expect(RetryStrategy(jitter: { 0 }).backoff(forRetry: 3) == .zero)
    }

    @Test("Error messages and descriptions carry no secret")
    func noSecretInErrors() async throws {
        let transport = ClosureTransport { request, _ throws(HTTPError) in
            throw HTTPError(.timeout, url: request.url + "?X-Amz-Signature=abc&X-Amz-Credential=AKID", detail: "timed out")
        }
        do {
            _ = try await client(transport).send(AWSRequest(method: "POST"))
            Issue.record("expected a failure")
        } catch {
            let text = "\(error)"
            #expect(!text.contains("wJalrXUtnFEMI"))
            #expect(!text.contains("abc"))
            #expect(text.contains("X-Amz-Signature=REDACTED"))
        }
    }
}

/// Records the backoff delays instead of sleeping.
final class SleepRecorder: Sendable {
    private let recorded = Mutex<[Duration]>([])
    func record(_ duration: Duration) { recorded.withLock { $0.append(duration) } }
    var durations: [Duration] { recorded.withLock { $0 } }
}
