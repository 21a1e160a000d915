import AWSClients
import AWSCore
import AWSSigV4
import FaultProxy
import Foundation
import HTTPTransport
import JSONCodec
import LoopbackHTTP
import PipelineCore
import Primitives
import Testing
import TestSupport

@Suite("Fault proxy: seeded decisions")
struct FaultDecisionTests {
    @Test("The same plan decides the same faults in the same order; another seed decides others")
    func seeded() {
        func decisions(_ seed: UInt64) -> [FaultKind?] {
            var decider = FaultDecider(plan: FaultPlan(rate: 0.1, seed: seed))
            return (0..<5000).map { _ in decider.next() }
        }
        #expect(decisions(7) == decisions(7))
        #expect(decisions(7) != decisions(8))
    }

    @Test("About the planned share is faulted, every kind with weight comes up, a kind without weight never")
    func shares() {
        var decider = FaultDecider(plan: FaultPlan(rate: 0.1, seed: 3, weights: [.internalError: 1, .throttled: 1, .resetMidBody: 1]))
        var counts: [FaultKind: Int] = [:]
        for _ in 0..<20_000 { if let kind = decider.next() { counts[kind, default: 0] += 1 } }
        let total = counts.values.reduce(0, +)
        #expect((1700...2300).contains(total), "\(total) of 20000")
        #expect(Set(counts.keys) == [.internalError, .throttled, .resetMidBody])
        var never = FaultDecider(plan: FaultPlan(rate: 0, seed: 3))
        #expect((0..<1000).allSatisfy { _ in never.next() == nil })
    }

    @Test("The service is read from X-Amz-Target, else from the signature's credential scope")
    func services() {
        func request(_ headers: [(String, String)]) -> RecordedRequest {
            RecordedRequest(method: "POST", target: "/", headers: headers.map { RecordedHeader($0.0, $0.1) })
        }
        let scope = { (service: String) in "AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/\(service)/aws4_request, SignedHeaders=host, Signature=00" }
        #expect(ProxiedService(request: request([("X-Amz-Target", "AmazonSQS.ReceiveMessage")])) == .sqs)
        #expect(ProxiedService(request: request([("X-Amz-Target", "DynamoDB_20120810.UpdateItem")])) == .dynamodb)
        #expect(ProxiedService(request: request([("X-Amz-Target", "AmazonSSM.GetParameter")])) == .ssm)
        #expect(ProxiedService(request: request([("Authorization", scope("s3"))])) == .s3)
        #expect(ProxiedService(request: request([("Authorization", scope("es"))])) == .opensearch)
        #expect(ProxiedService(request: request([])) == .other)
    }
}

/// Real clients behind a proxy in front of the shared, signature-checking moto.
struct ProxiedMoto {
    let proxy: FaultProxy
    let clients: PipelineClients

    static let transport: CurlTransport = {
        do { return try CurlTransport() } catch { fatalError("libcurl transport did not start: \(error)") }
    }()

    /// - Parameter attempts: `AWS_MAX_ATTEMPTS` (1: every fault reaches the caller).
    init(plan: FaultPlan, attempts: Int) async throws {
        let moto = try await SharedMoto.get()
        proxy = try FaultProxy(upstream: moto.endpoint, plan: plan)
        var environment = moto.environment
        environment["AWS_ENDPOINT_URL"] = proxy.endpoint
        environment["AWS_MAX_ATTEMPTS"] = String(attempts)
        let settings = try AWSSettings(environment: Environment(environment))
        let credentials = StaticCredentialProvider(AWSCredentials(accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey))
        clients = try PipelineClients.make(settings: settings, credentials: credentials, transport: Self.transport)
    }

    static func unique(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.lowercased().prefix(12))" }

    /// One call of each service; the error of each (nil when it succeeded).
    func callEach(bucket: String) async -> [ProxiedService: AWSError?] {
        var out: [ProxiedService: AWSError?] = [:]
        do { _ = try await clients.s3.client.send(AWSRequest(method: "GET", path: "/\(bucket)/object.txt")); out[.s3] = .some(nil) } catch { out[.s3] = error }
        do { _ = try await clients.sqs.call("ListQueues", [:]); out[.sqs] = .some(nil) } catch { out[.sqs] = error }
        do { _ = try await clients.dynamoDB.json.call("ListTables", [:]); out[.dynamodb] = .some(nil) } catch { out[.dynamodb] = error }
        do { _ = try await clients.ssm.json.call("DescribeParameters", [:]); out[.ssm] = .some(nil) } catch { out[.ssm] = error }
        return out
    }
}

@Suite("Fault proxy in front of moto (signature checking on)", .serialized)
struct FaultProxyMotoTests {
    @Test("Without faults everything passes unchanged: signatures verify, HEAD keeps the object's length, bodies arrive whole")
    func transparent() async throws {
        let stack = try await ProxiedMoto(plan: FaultPlan(rate: 0, seed: 1), attempts: 1)
        defer { stack.proxy.stop() }
        let bucket = ProxiedMoto.unique("proxy")
        try await stack.clients.s3.createBucket(bucket)
        let body = Array((0..<100_000).map { UInt8(truncatingIfNeeded: $0 % 251) })
        _ = try await stack.clients.s3.putObject(bucket: bucket, key: "object.txt", body: body)
        #expect(try await stack.clients.s3.headObject(bucket: bucket, key: "object.txt").objectSize == Int64(body.count))
        #expect(try await stack.clients.s3.readBytes(bucket: bucket, key: "object.txt", range: 0...Int64(body.count - 1)) == body)
        for (service, error) in await stack.callEach(bucket: bucket) { #expect(error == nil, "\(service): \(String(describing: error))") }
        let stats = stack.proxy.stats
        #expect(stats.totalFaults == 0)
        #expect(stats.forwarded == stats.requests && stats.requests >= 8)
    }

    @Test(
        "Each answered fault reaches the client as that service's real error, which the retry rules classify",
        arguments: [
            (FaultKind.throttled, [ProxiedService.s3: "SlowDown", .sqs: "RequestThrottled", .dynamodb: "ProvisionedThroughputExceededException", .ssm: "ThrottlingException"]),
            (FaultKind.internalError, [.s3: "InternalError", .sqs: "InternalError", .dynamodb: "InternalServerError", .ssm: "InternalServerError"]),
            (FaultKind.unavailable, [.s3: "ServiceUnavailable", .sqs: "ServiceUnavailable", .dynamodb: "ServiceUnavailable", .ssm: "ServiceUnavailable"]),
        ])
    func answeredFaults(kind: FaultKind, codes: [ProxiedService: String]) async throws {
        let stack = try await ProxiedMoto(plan: FaultPlan(rate: 1, seed: 1, weights: [kind: 1]), attempts: 1)
        defer { stack.proxy.stop() }
        let results = await stack.callEach(bucket: "no-such-bucket")
        for (service, code) in codes {
            guard case .service(let error)?? = results[service] else {
                Issue.record("\(service): expected the service's error, got \(String(describing: results[service]))")
                continue
            }
            #expect(error.code == code, "\(service)")
            let expected: RetryStrategy.FailureKind = kind == .throttled ? .throttling : .transient
            #expect(RetryStrategy.classify(.service(error)) == expected, "\(service) \(error.code)")
        }
        let stats = stack.proxy.stats
        #expect(stats.faults[kind] == 4 && stats.forwarded == 0)
        #expect(Set(stats.faultsByService.keys) == [.s3, .sqs, .dynamodb, .ssm])
    }

    @Test("A reset mid-body: the request was executed upstream, the client sees the connection reset; with retries it gets the answer")
    func resetAfterExecution() async throws {
        let bucket = ProxiedMoto.unique("proxy")
        let stack = try await ProxiedMoto(plan: FaultPlan(rate: 1, seed: 1, weights: [.resetMidBody: 1]), attempts: 1)
        defer { stack.proxy.stop() }
        stack.proxy.setFaulting(false)
        try await stack.clients.s3.createBucket(bucket)
        stack.proxy.setFaulting(true)
        do {
            _ = try await stack.clients.s3.putObject(bucket: bucket, key: "object.txt", body: Array("executed".utf8))
            Issue.record("the reset did not reach the client")
        } catch {
            guard case .transport(let http) = error else { Issue.record("expected a transport error, got \(error)"); return }
            #expect(http.isTransient)
        }
        // The PUT happened upstream all the same.
        stack.proxy.setFaulting(false)
        #expect(try await stack.clients.s3.headObject(bucket: bucket, key: "object.txt").objectSize == 8)
        // A body cut in the middle.
        stack.proxy.setFaulting(true)
        do {
            _ = try await stack.clients.sqs.call("ListQueues", [:])
            Issue.record("the reset did not reach the client")
        } catch {
            guard case .transport(let http) = error else { Issue.record("expected a transport error, got \(error)"); return }
            #expect(http.code == .connectionReset)
        }
        // With retries, a request whose first answer was lost still gets its answer.
        let retrying = try await ProxiedMoto(plan: FaultPlan(rate: 0.5, seed: 4, weights: [.resetMidBody: 1]), attempts: 10)
        defer { retrying.proxy.stop() }
        for _ in 0..<5 { _ = try await retrying.clients.sqs.call("ListQueues", [:]) }
        #expect(retrying.proxy.stats.faults[.resetMidBody, default: 0] > 0)
        #expect(retrying.proxy.stats.retries > 0)
    }
}

@Suite("Lost answers, found by the proxy (regressions)", .serialized)
struct LostAnswerTests {
    @Test("A JSON call whose answer is cut off after its head is retried, and succeeds")
    func cutOffBodyRetried() async throws {
        let stack = try await ProxiedMoto(plan: FaultPlan(rate: 0, seed: 1), attempts: 3)
        defer { stack.proxy.stop() }
        stack.proxy.faultNext(.resetMidBody)
        _ = try await stack.clients.sqs.call("ListQueues", [:])
        #expect(stack.proxy.stats.faults[.resetMidBody] == 1)
        #expect(stack.proxy.stats.retries == 1)
    }

    @Test("A claim whose answer was lost: the client's retry finds the claim taken by this very call and gets it")
    func claimAnswerLost() async throws {
        let stack = try await ProxiedMoto(plan: FaultPlan(rate: 0, seed: 1), attempts: 3)
        defer { stack.proxy.stop() }
        let table = ProxiedMoto.unique("status")
        try await StatusStore.createTable(stack.clients.dynamoDB, table: table)
        let store = StatusStore(dynamoDB: stack.clients.dynamoDB, table: table)
        let file = TrackedFile(dataset: "d", fileName: "a.csv", bucket: "b", key: "in/d/a.csv", size: 1, etag: "e")
        stack.proxy.faultNext(.resetMidBody)
        let claim = try await store.claim(
            fileId: "d/a.csv@e", stage: .ingest, file: file, owner: "request-1", deadline: SystemClock().now().adding(seconds: 60))
        guard case .claimed(let record) = claim else {
            Issue.record("the invocation's own claim was taken for another's: \(claim)")
            return
        }
        #expect(record.claimOwner == "request-1")
        #expect(stack.proxy.stats.faults[.resetMidBody] == 1)
        // Another invocation still finds it held.
        let other = try await store.claim(
            fileId: "d/a.csv@e", stage: .ingest, file: file, owner: "request-2", deadline: SystemClock().now().adding(seconds: 60))
        guard case .heldByOther(let owner, _, _) = other else { Issue.record("expected heldByOther, got \(other)"); return }
        #expect(owner == "request-1")
    }
}

@Suite("Fault proxy: stalls")
struct FaultProxyStallTests {
    @Test("A stalled answer outlasts the client's time-out: the client times out, the upstream got the request")
    func stall() async throws {
        let upstream = try LoopbackHTTPServer { _ in .text("late") }
        defer { upstream.stop() }
        let proxy = try FaultProxy(upstream: upstream.baseURL, plan: FaultPlan(rate: 1, seed: 1, weights: [.stalled: 1], stall: .seconds(3)))
        defer { proxy.stop() }
        let transport = try CurlTransport()
        do {
            _ = try await transport.send(
                HTTPRequest(method: "GET", url: proxy.endpoint + "/x"),
                options: HTTPRequestOptions(connectTimeout: .seconds(2), totalTimeout: .milliseconds(500)))
            Issue.record("the stall did not time the client out")
        } catch {
            #expect(error.code == .timeout)
        }
        #expect(upstream.requests.map(\.path) == ["/x"])
        #expect(proxy.stats.faults[.stalled] == 1)
    }
}
