import Foundation
import JSONCodec
import RuntimeAPIStandIn
import Testing
import TestSupport

/// The real `probe-lambda` bootstrap, started as a process.
@Suite("probe-lambda as a process: replay, init errors, SIGTERM", .serialized)
struct ProbeProcessTests {
    // MARK: Replay

    @Test("Replay of the shared SQS-of-S3 sample: response on stdout, JSON logs on stderr, exit 0")
    func replaySample() async throws {
        let probe = try ChildProcess(try probePath(), arguments: ["--event", try fixturePath("s3-sqs-event.json")], environment: probeEnvironment())
        #expect(await probe.wait() == 0)
        #expect(probe.stdoutLines == [#"{"batchItemFailures":[]}"#])
        let logs = try probe.stderrLines.map { try json($0) }
        let handled = try #require(logs.first { $0["message"]?.stringValue == "object handled" })
        #expect(handled["key"]?.stringValue == "test.pdf")
        #expect(handled["level"]?.stringValue == "INFO")
        #expect(handled["coldStart"] == .bool(true))
        #expect(handled["requestId"]?.stringValue?.hasPrefix("replay-") == true)
        #expect(handled["traceId"]?.stringValue?.hasPrefix("Root=1-") == true)
        #expect(handled["timestamp"]?.stringValue?.hasSuffix("Z") == true)
        let emf = try #require(logs.first { $0["_aws"] != nil })
        #expect(emf["Records"]?.intValue == 1 && emf["Failures"]?.intValue == 0 && emf["Bytes"]?.intValue == 104_681)
        #expect(emf["ColdStart"]?.intValue == 1)
        #expect(emf["function_name"]?.stringValue == "probe-lambda")
        #expect(!probe.stderr.contains("wJalrXUtnFEMI"))
    }

    @Test("Replay from standard input with --event -: the TestEvent is acknowledged, the next record handled")
    func replayStdin() async throws {
        let probe = try ChildProcess(
            try probePath(), arguments: ["--event", "-"], environment: probeEnvironment(), stdin: try fixture("sqs-test-event.json"))
        #expect(await probe.wait() == 0)
        #expect(probe.stdoutLines == [#"{"batchItemFailures":[]}"#])
        #expect(probe.stderr.contains("s3:TestEvent acknowledged"))
        #expect(probe.stderr.contains(#""key":"received_files/first.csv""#))
    }

    @Test("Replay of a FIFO batch with a failure in the middle fails it and the later records of its group")
    func replayFIFO() async throws {
        let probe = try ChildProcess(
            try probePath(), arguments: ["--event", try fixturePath("sqs-fifo-batch.json")],
            environment: probeEnvironment(["PROBE_FAIL_KEYS": "poison"]))
        #expect(await probe.wait() == 0)
        #expect(failedIds(try json(probe.stdout)) == ["fifo-2", "fifo-4"])
        #expect(probe.stderr.contains(#""errorType":"Function.ProbeFailure""#))
    }

    @Test("Replay of bodies that are not JSON fails only those records, with a clear logged error")
    func replayNotJSON() async throws {
        let probe = try ChildProcess(
            try probePath(), arguments: ["--event", try fixturePath("sqs-not-json-body.json")], environment: probeEnvironment())
        #expect(await probe.wait() == 0)
        #expect(failedIds(try json(probe.stdout)) == ["m-bad-1", "m-bad-2"])
        let errors = probe.stderrLines.filter { $0.contains(#""level":"ERROR""#) && $0.contains("not an S3 notification") }
        #expect(errors.count == 2)
        #expect(errors[0].contains("the message body is not JSON"))
    }

    @Test("Replay decodes keys with + and %2B")
    func replayKeys() async throws {
        let probe = try ChildProcess(
            try probePath(), arguments: ["--event", try fixturePath("sqs-encoded-keys.json")], environment: probeEnvironment())
        #expect(await probe.wait() == 0)
        let keys = try probe.stderrLines.map { try json($0) }.filter { $0["message"]?.stringValue == "object handled" }
            .compactMap { $0["key"]?.stringValue }
        #expect(keys == ["reports/2024 Q1 sales.csv", "a+b.csv", "in/café menu (1).txt"])
    }

    @Test("Replay with Text logs writes tab-separated lines")
    func replayText() async throws {
        let probe = try ChildProcess(
            try probePath(), arguments: ["--event", try fixturePath("s3-sqs-event.json")],
            environment: probeEnvironment(["AWS_LAMBDA_LOG_FORMAT": "Text"]))
        #expect(await probe.wait() == 0)
        let line = try #require(probe.stderrLines.first { $0.contains("object handled") })
        let fields = line.split(separator: "\t")
        #expect(fields.count == 4)
        #expect(fields[1] == "INFO")
        #expect(fields[2].hasPrefix("replay-"))
    }

    @Test("Replay exits non-zero on a handler error and prints the error report")
    func replayHandlerError() async throws {
        let probe = try ChildProcess(
            try probePath(), arguments: ["--event", try fixturePath("s3-sqs-event.json")],
            environment: probeEnvironment(["PROBE_THROW": "asked to fail"]))
        #expect(await probe.wait() == 1)
        let report = try json(probe.stdout)
        #expect(report["errorType"]?.stringValue == "Function.ProbeFailure")
        #expect(report["errorMessage"]?.stringValue == "asked to fail")
        #expect(probe.stderr.contains("the handler failed"))
    }

    @Test("Replay with --timeout: a deadline that runs out mid-batch fails the records not started")
    func replayDeadline() async throws {
        let probe = try ChildProcess(
            try probePath(), arguments: ["--event", try fixturePath("sqs-deadline-batch.json"), "--timeout", "2.5"],
            environment: probeEnvironment(["PROBE_SLEEP_MS": "400", "PROBE_SAFETY_MARGIN_MS": "1200"]))
        #expect(await probe.wait() == 0)
        let failed = failedIds(try json(probe.stdout))
        #expect(!failed.isEmpty && failed.count < 6)
        #expect(failed == Array((1...6).map { "slow-\($0)" }.suffix(failed.count)))
        #expect(probe.stderr.contains("safety margin"))
    }

    @Test("--help explains replay and exits 0; no --event and no AWS_LAMBDA_RUNTIME_API is a usage error")
    func usage() async throws {
        let help = try ChildProcess(try probePath(), arguments: ["--help"], environment: probeEnvironment())
        #expect(await help.wait() == 0)
        #expect(help.stdout.contains("--event FILE"))
        #expect(help.stdout.contains("--timeout"))
        let bare = try ChildProcess(try probePath(), environment: probeEnvironment())
        #expect(await bare.wait() == 2)
        #expect(bare.stderr.contains("neither --event nor AWS_LAMBDA_RUNTIME_API"))
        #expect(bare.stdout.isEmpty)
        let missing = try ChildProcess(try probePath(), arguments: ["--event", "/nonexistent/event.json"], environment: probeEnvironment())
        #expect(await missing.wait() == 2)
        #expect(missing.stderr.contains("/nonexistent/event.json"))
    }

    // MARK: Inside the Runtime API

    func lambdaEnvironment(_ standIn: RuntimeAPIStandIn, _ extra: [String: String] = [:]) -> [String: String] {
        var environment = probeEnvironment([
            "AWS_LAMBDA_RUNTIME_API": standIn.runtimeAPI, "AWS_LAMBDA_FUNCTION_NAME": "probe",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "METRICS_NAMESPACE": "probe-tests",
        ])
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    @Test("A missing AWS_REGION is posted to /runtime/init/error naming it, and the process exits non-zero")
    func initErrorMissingRegion() async throws {
        let standIn = try RuntimeAPIStandIn()
        defer { standIn.stop() }
        var environment = lambdaEnvironment(standIn)
        environment["AWS_REGION"] = nil
        let probe = try ChildProcess(try probePath(), environment: environment)
        #expect(await probe.wait() != 0)
        let post = try #require(standIn.initErrors.first)
        #expect(post.errorType == "Runtime.InitError")
        #expect(post.json?["errorMessage"]?.stringValue?.contains("AWS_REGION") == true)
        #expect(standIn.nextRequestTimes.isEmpty)
        #expect(probe.stdout.contains(#""level":"FATAL""#))
    }

    @Test("Invocations through the real bootstrap: batch failures, handler errors, then SIGTERM while idle exits 0")
    func servesThenSigterm() async throws {
        let standIn = try RuntimeAPIStandIn()
        defer { standIn.stop() }
        let probe = try ChildProcess(try probePath(), environment: lambdaEnvironment(standIn, ["PROBE_FAIL_KEYS": "poison"]))
        let fifo = await standIn.invoke(payload: try fixture("sqs-fifo-batch.json"))
        let malformed = await standIn.invoke(payload: Array("not an event".utf8))
        let sample = await standIn.invoke(payload: try fixture("s3-sqs-event.json"))
        #expect(failedIds(try json(try #require(fifo.responseText))) == ["fifo-2", "fifo-4"])
        #expect(malformed.errorType == "Function.MalformedEvent")
        #expect(sample.responseText == #"{"batchItemFailures":[]}"#)
        // Waiting in GET next: SIGTERM ends the process cleanly.
        #expect(await waitUntil { standIn.nextRequestTimes.count >= 4 })
        probe.terminate()
        #expect(await probe.wait() == 0)
        #expect(probe.stdout.contains("SIGTERM received"))
        let emf = probe.stdoutLines.filter { $0.hasPrefix(#"{"_aws""#) }
        #expect(emf.count == 3)
        #expect(emf.allSatisfy { $0.contains(#""Namespace":"probe-tests""#) })
    }

    @Test("SIGTERM in the middle of an invocation flushes the metrics recorded so far")
    func sigtermFlushes() async throws {
        let standIn = try RuntimeAPIStandIn()
        defer { standIn.stop() }
        let probe = try ChildProcess(try probePath(), environment: lambdaEnvironment(standIn, ["PROBE_SLEEP_MS": "1500"]))
        standIn.enqueue(payload: try fixture("sqs-deadline-batch.json"))
        // The first object is done after 1.5 s, the second after 3 s.
        #expect(await waitUntil(timeout: 20) { probe.stdout.contains("object handled") })
        probe.terminate()
        #expect(await probe.wait() == 0)
        let emf = try probe.stdoutLines.filter { $0.hasPrefix(#"{"_aws""#) }.map { try json($0) }
        #expect(emf.count == 1)
        #expect(emf.first?["Objects"]?.intValue == 1)
        #expect(probe.stdout.contains("SIGTERM received"))
        #expect(standIn.results.isEmpty)
    }
}

/// Polls `condition` every 10 ms until it holds or `timeout` seconds pass.
func waitUntil(timeout: Double = 10, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}
