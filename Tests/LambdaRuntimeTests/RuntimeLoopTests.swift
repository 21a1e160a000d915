import Foundation
import HTTPTransport
import JSONCodec
import LambdaRuntime
import Primitives
import RuntimeAPIStandIn
import Testing

/// The real loop (`LambdaMain.main` over libcurl) against the Runtime API stand-in on loopback.
@Suite("Runtime API loop against a loopback Runtime API", .serialized)
struct RuntimeLoopTests {
    struct ObjectMissing: LambdaReportableError, CustomStringConvertible {
        var description: String { "no such object" }
        var lambdaErrorType: String { "Function.ObjectMissing" }
    }
    struct NotAllowedType: LambdaReportableError {
        var lambdaErrorType: String { "Handler.failed" }
    }
    struct PlainFailure: Error {}

    @Test("A thousand invocations in a row are each answered with their own response")
    func thousand() async throws {
        let standIn = try RuntimeAPIStandIn()
        defer { standIn.stop() }
        var ids: [String] = []
        for index in 0..<1000 { ids.append(standIn.enqueue(payload: Array(#"{"n":\#(index)}"#.utf8))) }
        let io = MemoryIO()
        let status = try await serve(standIn, invocations: 1000, io: io) { _ in
            ClosureHandler { event, _ in
                let n = try JSONParser.parse(event)["n"]?.intValue ?? -1
                return Array(#"{"double":\#(n * 2)}"#.utf8)
            }
        }
        #expect(status == 0)
        let results = standIn.results
        #expect(results.count == 1000)
        for (index, id) in ids.enumerated() {
            #expect(standIn.result(id) == .response(Array(#"{"double":\#(index * 2)}"#.utf8)))
        }
        #expect(standIn.nextRequestTimes.count == 1000)
        // One connection for the long polls and posts: libcurl keeps it alive.
        #expect(standIn.connectionsAccepted <= 2)
        // One EMF document per invocation, ColdStart only in the first.
        let emf = io.logs.lines.filter { $0.hasPrefix(#"{"_aws""#) }
        #expect(emf.count == 1000)
        #expect(emf.filter { $0.contains(#""ColdStart":1"#) }.count == 1)
        #expect(emf.first?.contains(#""ColdStart":1"#) == true)
    }

    @Test("The handler sees request id, deadline, ARN, trace id, client context and Cognito identity; _X_AMZN_TRACE_ID is set")
    func context() async throws {
        let standIn = try RuntimeAPIStandIn(functionArn: "arn:aws:lambda:eu-west-2:123456789012:function:ctx")
        defer { standIn.stop() }
        let deadline = SystemClock().now().adding(seconds: 42)
        let trace = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"
        let task = Task {
            try await serve(standIn, invocations: 2) { _ in
                ClosureHandler { _, context in
                    let env = getenv("_X_AMZN_TRACE_ID").map { String(cString: $0) }
                    let body: JSON = .object([
                        "requestId": .string(context.requestId),
                        "deadlineMs": .number(context.deadline.millisecondsSinceEpoch),
                        "arn": .string(context.invokedFunctionArn), "trace": context.traceId.map(JSON.string) ?? .null,
                        "env": env.map(JSON.string) ?? .null, "clientContext": context.clientContext.map(JSON.string) ?? .null,
                        "cognito": context.cognitoIdentity.map(JSON.string) ?? .null, "cold": .bool(context.isColdStart),
                        "remainingPositive": .bool(context.remainingTime > .seconds(30)),
                    ])
                    return body.bytes
                }
            }
        }
        let first = await standIn.invoke(
            payload: Array("{}".utf8), deadline: deadline, traceId: trace, clientContext: #"{"custom":{"k":"v"}}"#,
            cognitoIdentity: #"{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool"}"#)
        let second = await standIn.invoke(payload: Array("{}".utf8), traceId: "Root=1-00000000-000000000000000000000002")
        #expect(try await task.value == 0)
        let one = try json(try #require(first.responseText))
        let requestId = try #require(standIn.results.first?.requestId)
        #expect(one["requestId"]?.stringValue == requestId)
        #expect(one["deadlineMs"]?.int64Value == deadline.millisecondsSinceEpoch)
        #expect(one["arn"]?.stringValue == "arn:aws:lambda:eu-west-2:123456789012:function:ctx")
        #expect(one["trace"]?.stringValue == trace)
        #expect(one["env"]?.stringValue == trace)
        #expect(one["clientContext"]?.stringValue == #"{"custom":{"k":"v"}}"#)
        #expect(one["cognito"]?.stringValue == #"{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool"}"#)
        #expect(one["cold"] == .bool(true))
        #expect(one["remainingPositive"] == .bool(true))
        let two = try json(try #require(second.responseText))
        #expect(two["env"]?.stringValue == "Root=1-00000000-000000000000000000000002")
        #expect(two["cold"] == .bool(false))
        #expect(two["clientContext"] == .null)
    }

    @Test("Handler errors are posted with their type and the next invocation is served")
    func handlerErrors() async throws {
        let standIn = try RuntimeAPIStandIn()
        defer { standIn.stop() }
        let io = MemoryIO()
        let task = Task {
            try await serve(standIn, invocations: 4, io: io) { _ in
                ClosureHandler { event, _ in
                    switch String(decoding: event, as: UTF8.self) {
                    case #""missing""#: throw ObjectMissing()
                    case #""badtype""#: throw NotAllowedType()
                    case #""plain""#: throw PlainFailure()
                    default: return Array(#"{"ok":true}"#.utf8)
                    }
                }
            }
        }
        let missing = await standIn.invoke(payload: Array(#""missing""#.utf8))
        let badType = await standIn.invoke(payload: Array(#""badtype""#.utf8))
        let plain = await standIn.invoke(payload: Array(#""plain""#.utf8))
        let ok = await standIn.invoke(payload: Array(#""fine""#.utf8))
        #expect(try await task.value == 0)
        #expect(missing.errorType == "Function.ObjectMissing")
        let body = try #require(missing.errorJSON)
        #expect(body["errorType"]?.stringValue == "Function.ObjectMissing")
        #expect(body["errorMessage"]?.stringValue == "no such object")
        #expect(body["stackTrace"] == .array([]))
        #expect(badType.errorType == "Runtime.Unknown")
        #expect(plain.errorType == "Function.PlainFailure")
        #expect(ok == .response(Array(#"{"ok":true}"#.utf8)))
        // Every error type our runtime sent is one Lambda accepts.
        #expect(standIn.invocationErrors.allSatisfy { $0.rawErrorType.map(RuntimeAPIStandIn.isValidErrorType) == true })
        #expect(io.logs.lines.filter { $0.contains("the handler failed") }.count == 3)
    }

    @Test("A malformed event fails that invocation with Function.MalformedEvent; the loop goes on")
    func malformedEvent() async throws {
        let standIn = try RuntimeAPIStandIn()
        defer { standIn.stop() }
        let task = Task {
            try await serve(standIn, invocations: 2) { _ in SQSS3BatchHandler(RecordingObjectHandler()) }
        }
        let bad = await standIn.invoke(payload: Array("{not json".utf8))
        let good = await standIn.invoke(payload: try fixture("s3-sqs-event.json"))
        #expect(try await task.value == 0)
        #expect(bad.errorType == "Function.MalformedEvent")
        #expect(good == .response(Array(#"{"batchItemFailures":[]}"#.utf8)))
    }

    @Test("A 6 MB event and a 6 MB response go through")
    func sixMegabytes() async throws {
        let standIn = try RuntimeAPIStandIn()
        defer { standIn.stop() }
        let payload = Array(("\"" + String(repeating: "x", count: 6_000_000 - 2) + "\"").utf8)
        let task = Task {
            try await serve(standIn, invocations: 1) { _ in ClosureHandler { event, _ in event } }
        }
        let result = await standIn.invoke(payload: payload)
        #expect(try await task.value == 0)
        guard case .response(let bytes) = result else {
            Issue.record("expected a response, got \(result)")
            return
        }
        #expect(bytes.count == 6_000_000)
        #expect(bytes == payload)
    }

    @Test("An oversized response is refused with 413 and the loop serves the next invocation")
    func oversizedResponse() async throws {
        let standIn = try RuntimeAPIStandIn()
        defer { standIn.stop() }
        let io = MemoryIO()
        let task = Task {
            try await serve(standIn, invocations: 2, io: io) { _ in
                ClosureHandler { event, _ in
                    event == Array("\"big\"".utf8)
                        ? [UInt8](repeating: UInt8(ascii: "a"), count: RuntimeAPIStandIn.maxPayloadBytes + 1) : event
                }
            }
        }
        let big = await standIn.invoke(payload: Array("\"big\"".utf8))
        let next = await standIn.invoke(payload: Array("\"small\"".utf8))
        #expect(try await task.value == 0)
        #expect(big.errorType == "Function.ResponseSizeTooLarge")
        #expect(next == .response(Array("\"small\"".utf8)))
        #expect(io.logs.lines.contains { $0.contains("did not accept") && $0.contains("Function.ResponseSizeTooLarge") })
    }

    @Test("An oversized event is answered with Runtime.EventTooLarge and the loop goes on")
    func oversizedEvent() async throws {
        let standIn = try RuntimeAPIStandIn()
        defer { standIn.stop() }
        let handled = ManualClock(Timestamp(nanosecondsSinceEpoch: 0))
        let task = Task {
            try await serve(standIn, invocations: 2) { _ in
                ClosureHandler { event, _ in
                    handled.advance(seconds: 1)
                    return event
                }
            }
        }
        let tooBig = await standIn.invoke(payload: [UInt8](repeating: UInt8(ascii: " "), count: 6 * 1024 * 1024 + 101))
        let next = await standIn.invoke(payload: Array("1".utf8))
        #expect(try await task.value == 0)
        #expect(tooBig.errorType == "Runtime.EventTooLarge")
        #expect(next == .response(Array("1".utf8)))
        #expect(handled.now() == Timestamp(secondsSinceEpoch: 1))
    }

    @Test("A deadline that runs out mid-batch: the records not started are reported, before the deadline")
    func deadlineMidBatch() async throws {
        struct Slow: S3ObjectHandler {
            func handle(_ object: S3EventRecord, message: SQSRecord, context: LambdaContext) async throws {
                try await Task.sleep(for: .milliseconds(400))
            }
        }
        let standIn = try RuntimeAPIStandIn()
        defer { standIn.stop() }
        let task = Task {
            try await serve(standIn, invocations: 1) { _ in
                SQSS3BatchHandler(Slow(), processor: SQSBatchProcessor(safetyMargin: .milliseconds(1500)))
            }
        }
        let deadline = SystemClock().now().adding(milliseconds: 3000)
        let result = await standIn.invoke(payload: try fixture("sqs-deadline-batch.json"), deadline: deadline)
        // When the runtime's answer reached the Runtime API (not when this task resumed after it).
        let answered = try #require(standIn.answeredAt.values.first)
        #expect(try await task.value == 0)
        let failed = failedIds(try json(try #require(result.responseText)))
        let all = (1...6).map { "slow-\($0)" }
        // Started while ≥ 1.5 s remained (about four records), the rest failed: always a non-empty suffix.
        #expect(!failed.isEmpty && failed.count < 6)
        #expect(failed == Array(all.suffix(failed.count)))
        #expect(answered < deadline)
    }

    @Test("A bad setting is posted to /runtime/init/error naming it, and main returns non-zero without polling")
    func initErrorSetting() async throws {
        let standIn = try RuntimeAPIStandIn()
        defer { standIn.stop() }
        let status = try await serve(standIn, invocations: 1, environment: ["AWS_LAMBDA_LOG_LEVEL": "LOUD"]) { _ in
            ClosureHandler { event, _ in event }
        }
        #expect(status != 0)
        let post = try #require(standIn.initErrors.first)
        #expect(post.errorType == "Runtime.InvalidConfiguration")
        #expect(post.json?["errorMessage"]?.stringValue?.contains("AWS_LAMBDA_LOG_LEVEL") == true)
        #expect(standIn.nextRequestTimes.isEmpty)
    }

    @Test("A handler init that throws is posted as an init error with its message; no secret leaks")
    func initErrorHandler() async throws {
        struct MissingBucket: Error, CustomStringConvertible {
            var description: String { "INGEST_BUCKET: not set (credentials wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY)" }
        }
        let standIn = try RuntimeAPIStandIn()
        defer { standIn.stop() }
        let io = MemoryIO()
        let status = try await serve(
            standIn, invocations: 1, environment: ["AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"], io: io
        ) { (_: InitContext) async throws -> ClosureHandler in
            throw MissingBucket()
        }
        #expect(status != 0)
        let post = try #require(standIn.initErrors.first)
        #expect(post.errorType == "Runtime.InitError")
        let message = try #require(post.json?["errorMessage"]?.stringValue)
        #expect(message.contains("INGEST_BUCKET"))
        #expect(!message.contains("wJalrXUtnFEMI"))
        #expect(!io.logs.lines.joined().contains("wJalrXUtnFEMI"))
    }

    @Test("Secrets in handler logs and error messages never reach the logs or the Runtime API")
    func secretsStayOut() async throws {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        let standIn = try RuntimeAPIStandIn()
        defer { standIn.stop() }
        let io = MemoryIO()
        struct Leaky: Error, CustomStringConvertible { var description: String }
        let task = Task {
            try await serve(standIn, invocations: 1, environment: ["AWS_SECRET_ACCESS_KEY": secret], io: io) { _ in
                ClosureHandler { _, context in
                    context.logger.info("using \(secret)", ["aws_secret_access_key": .string(secret)])
                    throw Leaky(description: "signature with \(secret) rejected")
                }
            }
        }
        let result = await standIn.invoke(payload: Array("{}".utf8))
        #expect(try await task.value == 0)
        guard case .error(_, let body) = result else {
            Issue.record("expected an error")
            return
        }
        #expect(!String(decoding: body, as: UTF8.self).contains(secret))
        #expect(!io.logs.lines.joined().contains(secret))
        #expect(io.logs.lines.contains { $0.contains("[REDACTED]") })
    }
}
