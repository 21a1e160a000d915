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
/// CPU time too, which a shared machine disturbs far less than wall time: the child's CPU clock
/// (`clock_getcpuclockid`, every thread, nanoseconds) when its first `GET /next` has arrived
/// (the child is then blocked waiting for the answer), after the first invocation, and across the
/// warm invocations; and this process's own CPU across them (the Runtime API stand-in's side of
/// each round trip).
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
        var coldStartCPUMs: Double
        var firstInvocationMs: Double
        var firstInvocationCPUMs: Double
        var warmMs: Double
        var warmCPUMs: Double
        var warmStandInCPUMs: Double
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
        print(
            "Lambda cold start under a loopback Runtime API: median of \(runs) runs, \(warm) warm invocations each"
                + " (load average \(loadAverage()))")
        print("swift: \(probe)")
        if !python.isEmpty { print("python: python3 -m awslambdaric coldstart_handler.handler (boto3 s3/sqs/dynamodb clients at import)") }
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        func format(_ value: Double) -> String { value >= 100 ? String(Int(value.rounded())) : String(Double(Int(value * 1000)) / 1000) }
        print(pad("metric", 36) + pad("swift", 12) + pad("python", 12) + "ratio")
        let rows: [(String, KeyPath<Sample, Double>)] = [
            ("exec → first GET /next (ms)", \.coldStartMs), ("  CPU to first GET /next (ms)", \.coldStartCPUMs),
            ("first invocation (ms)", \.firstInvocationMs), ("  CPU of the first invocation (ms)", \.firstInvocationCPUMs),
            ("warm round trip (ms/invocation)", \.warmMs), ("  CPU, the runtime (ms/invocation)", \.warmCPUMs),
            ("  CPU, the stand-in (ms/invocation)", \.warmStandInCPUMs), ("peak RSS (MB)", \.peakRSSMB),
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
        // The child now waits for the answer to its GET /next, so its CPU clock stands still.
        let pid = process.processIdentifier
        let coldCPU = try cpuMilliseconds(of: pid, name)

        let firstSent = ContinuousClock.now
        let firstId = standIn.enqueue(payload: firstEvent)
        guard let firstResult = standIn.waitForResult(firstId, timeout: .seconds(30)) else { throw BenchError("\(name): first invocation timed out") }
        let firstLatency = firstSent.duration(to: .now)
        try check(firstResult, name)
        // The result has been posted; wait for the next GET /next so the child is idle again.
        guard standIn.waitForNextRequests(2, timeout: .seconds(30)) else { throw BenchError("\(name) did not ask for a second invocation") }
        let afterFirstCPU = try cpuMilliseconds(of: pid, name)

        let warmStart = ContinuousClock.now
        let ownStart = ownCPUMilliseconds()
        for _ in 0..<warm {
            let id = standIn.enqueue(payload: trivialEvent)
            guard let result = standIn.waitForResult(id, timeout: .seconds(30)) else { throw BenchError("\(name): warm invocation timed out") }
            try check(result, name)
        }
        guard standIn.waitForNextRequests(2 + warm, timeout: .seconds(30)) else { throw BenchError("\(name) stopped asking for invocations") }
        let warmTotal = warmStart.duration(to: .now)
        let ownWarm = ownCPUMilliseconds() - ownStart
        let warmCPU = try cpuMilliseconds(of: pid, name) - afterFirstCPU
        let peak = peakRSSKilobytes(pid)
        kill(pid, SIGTERM)
        process.waitUntilExit()
        let count = Double(max(warm, 1))
        return Sample(
            coldStartMs: milliseconds(coldStart), coldStartCPUMs: coldCPU, firstInvocationMs: milliseconds(firstLatency),
            firstInvocationCPUMs: afterFirstCPU - coldCPU, warmMs: milliseconds(warmTotal) / count, warmCPUMs: warmCPU / count,
            warmStandInCPUMs: ownWarm / count, peakRSSMB: Double(peak) / 1024)
    }

    static func check(_ result: RuntimeAPIStandIn.InvocationResult, _ name: String) throws {
        guard let text = result.responseText, text.replacingOccurrences(of: " ", with: "") == expectedResponse else {
            throw BenchError("\(name) answered \(result) instead of \(expectedResponse)")
        }
    }

    /// CPU time `pid` has used so far, all its threads (those that have ended too), in ms.
    static func cpuMilliseconds(of pid: pid_t, _ name: String) throws -> Double {
        var clock = clockid_t()
        var time = timespec()
        guard clock_getcpuclockid(pid, &clock) == 0, clock_gettime(clock, &time) == 0 else {
            throw BenchError("cannot read the CPU clock of \(name) (pid \(pid))")
        }
        return Double(time.tv_sec) * 1000 + Double(time.tv_nsec) / 1e6
    }

    /// CPU time this process has used so far, in ms.
    static func ownCPUMilliseconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) * 1000 + Double(time.tv_nsec) / 1e6
    }

    /// The 1-, 5- and 15-minute load averages, as /proc/loadavg has them.
    static func loadAverage() -> String {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "unknown" }
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    /// `VmHWM` of `pid` in kB (0 when unreadable).
    static func peakRSSKilobytes(_ pid: Int32) -> Int { ProcessStats.highWaterMarkKiB(pid) ?? 0 }

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
