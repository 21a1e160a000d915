import Foundation
import HTTPTransport
import JSONCodec
import LambdaRuntime
import Primitives
import RuntimeAPIStandIn

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
    sink: MemoryLogSink = MemoryLogSink()
) -> LambdaContext {
    let logger = Logger(sink: sink, clock: clock)
    return LambdaContext(
        requestId: "req-1", deadline: clock.now().adding(seconds: remaining),
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
func probePath() throws -> String {
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var directory = executable.deletingLastPathComponent()
    // The test bundle may be a directory (…/debug/X.xctest/…) on some set-ups.
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent("probe-lambda").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    throw TestFailure("probe-lambda is not built next to the tests (run `swift build --product probe-lambda` with the same scratch path)")
}

/// A running child process with its output collected in the background.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private let stdinPipe = Pipe()
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()
    private let readers = DispatchGroup()

    init(_ path: String, arguments: [String] = [], environment: [String: String], stdin: [UInt8]? = nil) throws {
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        process.standardInput = stdinPipe
        try process.run()
        collect(stdoutPipe) { data in self.lock.withLock { self.out.append(data) } }
        collect(stderrPipe) { data in self.lock.withLock { self.err.append(data) } }
        if let stdin { stdinPipe.fileHandleForWriting.write(Data(stdin)) }
        try? stdinPipe.fileHandleForWriting.close()
    }

    private func collect(_ pipe: Pipe, _ append: @escaping @Sendable (Data) -> Void) {
        readers.enter()
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [readers] in
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                append(data)
            }
            readers.leave()
        }
    }

    var stdout: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
    var stderr: String { lock.withLock { String(decoding: err, as: UTF8.self) } }

    func terminate() { kill(process.processIdentifier, SIGTERM) }

    /// Waits for the exit (killing the child after `timeout`) and for its output; the exit status.
    @discardableResult
    func wait(timeout: Double = 30) async -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        _ = readers.wait(timeout: .now() + 5)
        return process.terminationStatus
    }

    var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }
    var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
}

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
