import Foundation
import HTTPTransport
import JSONCodec
import LambdaRuntime
import Primitives
import RuntimeAPIStandIn
import TestSupport

/// Reads a file under `Fixtures/`.
func fixture(_ name: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: try fixturePath(name))))
}

func fixturePath(_ name: String) throws -> String {
    guard let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil) else {
        throw TestFailure("fixture \(name) is missing")
    }
    return url.path
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func json(_ bytes: [UInt8]) throws -> JSON { try JSONParser.parse(bytes) }
func json(_ text: String) throws -> JSON { try JSONParser.parse(text) }

/// The ids in a `batchItemFailures` response.
func failedIds(_ response: JSON) -> [String] {
    (response["batchItemFailures"]?.arrayValue ?? []).compactMap { $0["itemIdentifier"]?.stringValue }
}

/// A context for unit tests, with an in-memory log and a manual clock.
func testContext(
    clock: ManualClock = ManualClock(Timestamp(secondsSinceEpoch: 1_716_545_730)), remaining: Int64 = 60,
    remainingMilliseconds: Int64? = nil, sink: MemoryLogSink = MemoryLogSink()
) -> LambdaContext {
    let logger = Logger(sink: sink, clock: clock)
    return LambdaContext(
        requestId: "req-1", deadline: clock.now().adding(milliseconds: remainingMilliseconds ?? remaining * 1000),
        invokedFunctionArn: "arn:aws:lambda:eu-west-2:123456789012:function:test", logger: logger,
        metrics: MetricsRecorder(namespace: "test", dimensions: [("function_name", "test")], sink: sink, clock: clock),
        clock: clock)
}

/// An in-memory `RuntimeIO`.
struct MemoryIO {
    let logs = MemoryLogSink()
    let output = MemoryLogSink()
    let errors = MemoryLogSink()
    var io: RuntimeIO {
        RuntimeIO(lambdaLogs: logs, replayLogs: logs, output: output, errorOutput: errors, readStandardInput: { [] })
    }
}

/// The Lambda environment for a runtime served by `standIn`.
func lambdaEnvironment(_ standIn: RuntimeAPIStandIn, _ extra: [String: String] = [:]) -> Environment {
    var values = [
        "AWS_LAMBDA_RUNTIME_API": standIn.runtimeAPI, "AWS_LAMBDA_FUNCTION_NAME": "loop-test",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_REGION": "eu-west-2",
    ]
    for (key, value) in extra { values[key] = value }
    return Environment(values)
}

/// Runs `LambdaMain.main` in-process against `standIn` until `invocations` have been served.
func serve<Handler: LambdaHandler>(
    _ standIn: RuntimeAPIStandIn, invocations: Int, environment extra: [String: String] = [:], io: MemoryIO = MemoryIO(),
    transport: CurlTransport? = nil, makeHandler: @escaping @Sendable (InitContext) async throws -> Handler
) async throws -> Int32 {
    let transport = try transport ?? CurlTransport()
    return await LambdaMain.main(
        name: "loop-test", arguments: [], environment: lambdaEnvironment(standIn, extra), io: io.io, transport: transport,
        maxInvocations: invocations, makeHandler: makeHandler)
}

// MARK: - Processes

/// The `probe-lambda` built next to the test bundle.
func probePath() throws -> String { try builtExecutable("probe-lambda") }

/// The environment for a probe: fake credentials, a region, nothing from the test process.
func probeEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
    var values = [
        "AWS_REGION": "eu-west-2", "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS_EC2_METADATA_DISABLED": "true",
        "PATH": "/usr/bin:/bin",
    ]
    for (key, value) in extra { values[key] = value }
    return values
}
