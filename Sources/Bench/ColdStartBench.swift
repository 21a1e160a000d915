import Foundation
import RuntimeAPIStandIn

/// `bench coldstart`: a release `probe-lambda` against a Python Lambda doing the same set-up
/// (`python3 -m awslambdaric coldstart_handler.handler`, boto3 clients for S3, SQS and DynamoDB
/// created at import), each started under the same loopback Runtime API (`RuntimeAPIStandIn`).
///
/// Per run: time from exec to the first `GET /next` (monotonic), latency of the first invocation
/// (an SQS event carrying one S3 notification), the round trip of each of ~1000 warm trivial
/// invocations, and peak RSS (`VmHWM` of the child). Medians over the runs.
///
/// Settings (environment, since the shared options stay as they are): `COLDSTART_PROBE` (path of
/// the bootstrap; default `probe-lambda` next to this binary), `COLDSTART_RUNS` (default 5),
/// `COLDSTART_WARM` (warm invocations per run, default 1000). `--swift-only` skips Python.
enum ColdStartBench {
    static let command = BenchCommand(
        name: "coldstart", summary: "cold start, warm overhead and memory: probe-lambda vs awslambdaric + boto3", run: run
    )

    struct Sample {
        var coldStartMs: Double
        var firstInvocationMs: Double
        var warmMs: Double
        var peakRSSMB: Double
    }

    static let firstEvent = Array(
        #"""
        {"Records":[{"messageId":"c1a2b3d4-0000-4000-8000-000000000001","receiptHandle":"rh-1","body":"{\"Records\":[{\"eventVersion\":\"2.1\",\"eventSource\":\"aws:s3\",\"awsRegion\":\"eu-west-2\",\"eventTime\":\"2024-05-24T10:15:30.123Z\",\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"s3SchemaVersion\":\"1.0\",\"bucket\":{\"name\":\"dropbox-bucket\",\"arn\":\"arn:aws:s3:::dropbox-bucket\"},\"object\":{\"key\":\"received_files/orders+2024-05-24.csv\",\"size\":18734,\"eTag\":\"9b2cf535f27731c974343645a3985328\",\"sequencer\":\"0066506A1B2C3D4E5F\"}}}]}","attributes":{"ApproximateReceiveCount":"1","SentTimestamp":"1716545730123","SenderId":"AROAEXAMPLE","ApproximateFirstReceiveTimestamp":"1716545730200"},"messageAttributes":{},"md5OfBody":"00000000000000000000000000000000","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:eu-west-2:123456789012:dropbox-events","awsRegion":"eu-west-2"}]}
        """#.utf8)
    static let trivialEvent = Array(#"{"Records":[]}"#.utf8)
    static let expectedResponse = #"{"batchItemFailures":[]}"#

    static func run(_ options: BenchOptions) throws {
        let environment = ProcessInfo.processInfo.environment
        let runs = Int(environment["COLDSTART_RUNS"] ?? "") ?? 5
        let warm = Int(environment["COLDSTART_WARM"] ?? "") ?? 1000
        let probe = environment["COLDSTART_PROBE"] ?? defaultProbePath()
        guard FileManager.default.isExecutableFile(atPath: probe) else {
            throw BenchError(
                "no probe-lambda at \(probe): swift build -c release --static-swift-stdlib --product probe-lambda (or set COLDSTART_PROBE)")
        }
        var swift: [Sample] = []
        for _ in 0..<runs {
            swift.append(try measure(executable: probe, arguments: [], directory: nil, warm: warm, name: "probe-lambda"))
        }
        var python: [Sample] = []
        if !options.swiftOnly {
            let scripts = URL(fileURLWithPath: options.scriptsDirectory).standardizedFileURL.path
            guard FileManager.default.fileExists(atPath: scripts + "/coldstart_handler.py") else {
                throw BenchError("no coldstart_handler.py in \(scripts) (run from the package root or pass --scripts DIR)")
            }
            let interpreter = try pythonInterpreter()
            for _ in 0..<runs {
                python.append(
                    try measure(
                        executable: interpreter, arguments: ["-m", "awslambdaric", "coldstart_handler.handler"],
                        directory: scripts, warm: warm, name: "awslambdaric"))
            }
        }
        print("Lambda cold start under a loopback Runtime API: median of \(runs) runs, \(warm) warm invocations each")
        print("swift: \(probe)")
        if !python.isEmpty { print("python: python3 -m awslambdaric coldstart_handler.handler (boto3 s3/sqs/dynamodb clients at import)") }
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        func format(_ value: Double) -> String { value >= 100 ? String(Int(value.rounded())) : String(Double(Int(value * 1000)) / 1000) }
        print(pad("metric", 36) + pad("swift", 12) + pad("python", 12) + "ratio")
        let rows: [(String, KeyPath<Sample, Double>)] = [
            ("exec → first GET /next (ms)", \.coldStartMs), ("first invocation (ms)", \.firstInvocationMs),
            ("warm round trip (ms/invocation)", \.warmMs), ("peak RSS (MB)", \.peakRSSMB),
        ]
        for (title, path) in rows {
            let ours = median(swift.map { $0[keyPath: path] })
            var row = pad(title, 36) + pad(format(ours), 12)
            if !python.isEmpty {
                let theirs = median(python.map { $0[keyPath: path] })
                row += pad(format(theirs), 12) + (ours > 0 ? format(theirs / ours) + "x" : "")
            }
            print(row)
        }
    }

    static func measure(executable: String, arguments: [String], directory: String?, warm: Int, name: String) throws -> Sample {
        let standIn = try RuntimeAPIStandIn(functionArn: "arn:aws:lambda:eu-west-2:123456789012:function:coldstart")
        defer { standIn.stop() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.environment = [
            "AWS_LAMBDA_RUNTIME_API": standIn.runtimeAPI, "AWS_LAMBDA_FUNCTION_NAME": "coldstart",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/coldstart", "AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "eu-west-2",
            "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEXAMPLETOKEN", "LAMBDA_TASK_ROOT": directory ?? "/var/task",
            "AWS_EC2_METADATA_DISABLED": "true", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let start = ContinuousClock.now
        try process.run()
        defer {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        guard standIn.waitForNextRequests(1, timeout: .seconds(30)), let firstNext = standIn.nextRequestTimes.first else {
            throw BenchError("\(name) never asked for an invocation (exit status \(process.isRunning ? "running" : "\(process.terminationStatus)"))")
        }
        let coldStart = start.duration(to: firstNext)

        let firstSent = ContinuousClock.now
        let firstId = standIn.enqueue(payload: firstEvent)
        guard let firstResult = standIn.waitForResult(firstId, timeout: .seconds(30)) else { throw BenchError("\(name): first invocation timed out") }
        let firstLatency = firstSent.duration(to: .now)
        try check(firstResult, name)

        let warmStart = ContinuousClock.now
        for _ in 0..<warm {
            let id = standIn.enqueue(payload: trivialEvent)
            guard let result = standIn.waitForResult(id, timeout: .seconds(30)) else { throw BenchError("\(name): warm invocation timed out") }
            try check(result, name)
        }
        let warmTotal = warmStart.duration(to: .now)
        let peak = peakRSSKilobytes(process.processIdentifier)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return Sample(
            coldStartMs: milliseconds(coldStart), firstInvocationMs: milliseconds(firstLatency),
            warmMs: milliseconds(warmTotal) / Double(max(warm, 1)), peakRSSMB: Double(peak) / 1024)
    }

    static func check(_ result: RuntimeAPIStandIn.InvocationResult, _ name: String) throws {
        guard let text = result.responseText, text.replacingOccurrences(of: " ", with: "") == expectedResponse else {
            throw BenchError("\(name) answered \(result) instead of \(expectedResponse)")
        }
    }

    /// `VmHWM` of `pid` in kB (0 when unreadable).
    static func peakRSSKilobytes(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ").dropFirst().first { !$0.isEmpty } ?? "") ?? 0
        }
        return 0
    }

    static func defaultProbePath() -> String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("probe-lambda").path
    }

    /// The real interpreter behind `python3` (not a pyenv shim, whose start-up would be counted).
    static func pythonInterpreter() throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sys, awslambdaric, boto3; print(sys.executable)"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError("python3 cannot import awslambdaric and boto3 (pip install -r scripts/requirements.txt)")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
