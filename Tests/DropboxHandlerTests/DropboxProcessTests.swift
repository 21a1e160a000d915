import AWSClients
import Foundation
import JSONCodec
import LambdaRuntime
import PipelineCore
import Primitives
import RuntimeAPIStandIn
import Testing
import TestSupport

/// The `dropbox-lambda` built next to the test bundle (`swift build` with the same scratch path).
func dropboxLambdaPath() throws -> String {
    var directory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent("dropbox-lambda").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    throw TestFailure("dropbox-lambda is not built next to the tests (run `swift build --product dropbox-lambda` with the same scratch path)")
}

/// Runs a process to its end (or kills it after `timeout`), collecting its output.
final class Child: @unchecked Sendable {
    let process = Process()
    private let out = Pipe()
    private let err = Pipe()

    init(_ path: String, arguments: [String], environment: [String: String]) throws {
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = out
        process.standardError = err
        try process.run()
    }

    func terminate() { process.terminate() }

    /// Waits for the exit; returns (status, stdout, stderr).
    func wait(timeout: Double = 60) async -> (Int32, String, String) {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { process.terminate() }
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, stdout, stderr)
    }
}

@Suite("dropbox-lambda as a process against moto", .serialized)
struct DropboxProcessTests {
    @Test("Replay with --event: the fixture's objects in moto are accepted and rejected, the TestEvent acknowledged")
    func replay() async throws {
        let stack = try await DropboxStack(names: ("replay-dropbox", "replay-ingest"))
        let good = jsonLines(1)
        let bad = Array("{\"sold_at\":\"2024-05-01T10:00:00Z\",\"note\":\"x\"}\n".utf8)
        _ = try await stack.s3.putObject(bucket: stack.dropbox, key: "received_files/sales/eu/replay orders.jsonl", body: good)
        _ = try await stack.s3.putObject(bucket: stack.dropbox, key: "received_files/sales/eu/replay-missing.jsonl", body: bad)
        var environment = stack.environment
        environment["PATH"] = "/usr/bin:/bin"
        let child = try Child(try dropboxLambdaPath(), arguments: ["--event", try fixturePath("replay-event.json")], environment: environment)
        let (status, stdout, stderr) = await child.wait()
        #expect(status == 0)
        #expect(stdout.split(separator: "\n") == [#"{"batchItemFailures":[]}"#])
        #expect(await stack.exists(stack.ingest, "in/sales/sales/eu/replay orders.jsonl"))
        #expect(await stack.exists(stack.dropbox, "rejected/sales/eu/replay-missing.jsonl.error.json"))
        #expect(stderr.contains("file accepted") && stderr.contains("file rejected") && stderr.contains("s3:TestEvent acknowledged"))
        #expect(!stderr.contains(stack.moto.secretAccessKey))
        let emf = try #require(stderr.split(separator: "\n").compactMap { try? JSONParser.parse(String($0)) }.first { $0["_aws"] != nil })
        #expect(emf["Accepted"]?.intValue == 1 && emf["Rejected"]?.intValue == 1)
    }

    @Test("An init error names the setting, and the process exits 1")
    func initError() async throws {
        let stack = try await DropboxStack()
        var environment = stack.environment
        environment["MULTIPART_COPY_THRESHOLD_MB"] = "lots"
        let child = try Child(try dropboxLambdaPath(), arguments: ["--event", try fixturePath("replay-event.json")], environment: environment)
        let (status, _, stderr) = await child.wait()
        #expect(status == 1)
        #expect(stderr.contains("MULTIPART_COPY_THRESHOLD_MB"))
        #expect(stderr.contains("Runtime.InvalidSetting"))
    }

    @Test("Served by the loopback Runtime API: an invocation moves the file and answers batchItemFailures")
    func runtimeAPI() async throws {
        let stack = try await DropboxStack()
        let standIn = try RuntimeAPIStandIn(functionArn: "arn:aws:lambda:us-east-1:123456789012:function:dropbox")
        defer { standIn.stop() }
        var environment = stack.environment
        environment["AWS_LAMBDA_RUNTIME_API"] = standIn.runtimeAPI
        environment["AWS_LAMBDA_FUNCTION_NAME"] = "dropbox"
        let child = try Child(try dropboxLambdaPath(), arguments: [], environment: environment)
        defer { child.terminate() }
        let record = try await stack.drop("sales/eu/served.jsonl", jsonLines(2))
        let broken = try await stack.drop("sales/eu/served.txt", jsonLines(2))
        let result = await standIn.invoke(payload: sqsEvent([record, broken]), deadline: SystemClock().now().adding(seconds: 30))
        let response = try JSONParser.parse(try #require(result.responseText))
        #expect(response["batchItemFailures"]?.arrayValue?.isEmpty == true)
        #expect(await stack.exists(stack.ingest, "in/sales/sales/eu/served.jsonl"))
        #expect(await stack.exists(stack.dropbox, "rejected/sales/eu/served.txt.error.json"))
        let status = try #require(try await stack.store.get(fileId: "sales/sales/eu/served.jsonl@\(record.eTag!)", stage: .dropbox))
        #expect(status.status == .accepted)
        #expect(status.claimOwner?.isEmpty == false)
        child.terminate()
        let (exit, stdout, _) = await child.wait(timeout: 10)
        #expect(exit == 0)
        #expect(stdout.contains("\"file accepted\""))
    }
}
