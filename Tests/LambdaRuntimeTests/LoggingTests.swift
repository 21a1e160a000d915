import JSONCodec
import LambdaRuntime
import Primitives
import Testing

@Suite("JSON logs, text logs and EMF metrics")
struct LoggingTests {
    let clock = ManualClock(Timestamp(iso8601: "2024-05-24T10:15:30.123Z")!)

    @Test("A JSON line holds timestamp, level, message, request id, trace id, cold start, then fields")
    func jsonLine() throws {
        let sink = MemoryLogSink()
        let logger = Logger(sink: sink, clock: clock).with("requestId", .string("r-1")).with("traceId", .string("Root=1-abc")).with(
            "coldStart", .bool(true))
        logger.info("object \"moved\"\n", ["key": .string("a b.csv"), "size": .number(12)])
        #expect(sink.lines == [
            #"{"timestamp":"2024-05-24T10:15:30.123Z","level":"INFO","message":"object \"moved\"\n","requestId":"r-1","traceId":"Root=1-abc","coldStart":true,"key":"a b.csv","size":12}"#
        ])
        _ = try json(sink.lines[0])
    }

    @Test("Levels below the configured one are dropped")
    func levels() {
        let sink = MemoryLogSink()
        let logger = Logger(level: .warn, sink: sink, clock: clock)
        logger.debug("d")
        logger.info("i")
        logger.warn("w")
        logger.error("e")
        #expect(sink.lines.count == 2)
        #expect(LogLevel(name: "warning") == .warn && LogLevel(name: "DEBUG") == .debug && LogLevel(name: "LOUD") == nil)
    }

    @Test("The text format is tab-separated: timestamp, level, request id, message, then key=value")
    func textLine() {
        let sink = MemoryLogSink()
        let logger = Logger(format: .text, sink: sink, clock: clock).with("requestId", .string("r-1"))
        logger.warn("slow\nobject", ["key": .string("k1"), "ms": .number(5)])
        #expect(sink.lines == ["2024-05-24T10:15:30.123Z\tWARN\tr-1\tslow object key=k1 ms=5"])
    }

    @Test("Secret-looking fields and known secret values never reach a line")
    func redaction() {
        let sink = MemoryLogSink()
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        let redactor = Redactor(
            environment: Environment([
                "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEXAMPLETOKEN", "AWS_REGION": "eu-west-2",
                "DB_PASSWORD": "hunter2hunter2",
            ]))
        let logger = Logger(sink: sink, redactor: redactor, clock: clock)
        logger.error(
            "signing with \(secret) failed",
            [
                "password": .string("p4ssw0rd!"), "nested": .object(["X-Amz-Security-Token": .string("tok"), "region": .string("eu-west-2")]),
                "detail": .string("token=IQoJb3JpZ2luX2VjEXAMPLETOKEN db=hunter2hunter2"),
            ])
        let line = sink.lines.joined()
        #expect(!line.contains(secret))
        #expect(!line.contains("p4ssw0rd"))
        #expect(!line.contains("IQoJb3JpZ2luX2VjEXAMPLETOKEN"))
        #expect(!line.contains("hunter2"))
        #expect(!line.contains(#""tok""#))
        #expect(line.contains(#""region":"eu-west-2""#))
        #expect(line.contains("[REDACTED]"))
    }

    @Test("EMF: one document per flush with namespace, dimension and each metric's unit")
    func emfDocument() throws {
        let sink = MemoryLogSink()
        let metrics = MetricsRecorder(namespace: "ingest", dimensions: [("function_name", "dropbox")], sink: sink, clock: clock)
        metrics.increment("Records", by: 3)
        metrics.increment("Records", by: 2)
        metrics.add("Duration", 12.5, unit: .milliseconds)
        metrics.add("ColdStart", 1)
        metrics.flush()
        metrics.flush()
        #expect(sink.lines.count == 1)
        let document = try json(sink.lines[0])
        #expect(document["_aws"]?["Timestamp"]?.int64Value == clock.now().millisecondsSinceEpoch)
        let directive = try #require(document["_aws"]?["CloudWatchMetrics"]?[0])
        #expect(directive["Namespace"]?.stringValue == "ingest")
        #expect(directive["Dimensions"] == .array([.array([.string("function_name")])]))
        #expect(directive["Metrics"]?.arrayValue?.compactMap { $0["Unit"]?.stringValue } == ["Count", "Milliseconds", "Count"])
        #expect(document["function_name"]?.stringValue == "dropbox")
        #expect(document["Records"]?.intValue == 5)
        #expect(document["Duration"]?.doubleValue == 12.5)
        #expect(document["ColdStart"]?.intValue == 1)
    }

    @Test("EMF: never more than 100 metrics, nor 100 values of a metric, in one document")
    func emfLimits() throws {
        var metrics = (0..<250).map { EMF.Metric(name: "m\($0)", unit: .count, values: [Double($0)]) }
        metrics.append(EMF.Metric(name: "many", unit: .milliseconds, values: (0..<150).map(Double.init)))
        let documents = EMF.documents(namespace: "n", dimensions: [("service", "s")], metrics: metrics, timestamp: clock.now())
        var seen: [String: Int] = [:]
        for bytes in documents {
            let document = try json(bytes)
            let definitions = try #require(document["_aws"]?["CloudWatchMetrics"]?[0]?["Metrics"]?.arrayValue)
            #expect(definitions.count <= 100)
            for definition in definitions {
                let name = try #require(definition["Name"]?.stringValue)
                let value = try #require(document[name])
                let count = value.arrayValue?.count ?? 1
                #expect(count <= 100)
                seen[name, default: 0] += count
            }
        }
        #expect(documents.count == 4)
        #expect(seen.count == 251)
        #expect(seen["many"] == 150)
        #expect(seen.filter { $0.key != "many" }.values.allSatisfy { $0 == 1 })
    }
}

@Suite("Runtime configuration and the command line")
struct ConfigurationTests {
    @Test(
        "A bad setting is a typed error naming the setting",
        arguments: [
            ("AWS_LAMBDA_LOG_FORMAT", "yaml"), ("AWS_LAMBDA_LOG_LEVEL", "LOUD"), ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lots"),
            ("AWS_LAMBDA_RUNTIME_API", "http://127.0.0.1:9001/"), ("METRICS_NAMESPACE", "a:b"), ("LAMBDA_MAX_EVENT_BYTES", "-1"),
        ])
    func badSetting(name: String, value: String) {
        #expect {
            _ = try RuntimeConfiguration(environment: Environment([name: value]), defaultName: "f")
        } throws: { error in
            guard let error = error as? LambdaRuntimeError else { return false }
            return error.code == .invalidConfiguration && error.message.contains(name)
                && error.lambdaErrorType == "Runtime.InvalidConfiguration"
        }
    }

    @Test("Defaults: JSON, INFO, the project namespace, Lambda's payload limit")
    func defaults() throws {
        let configuration = try RuntimeConfiguration(
            environment: Environment(["AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "AWS_LAMBDA_LOG_FORMAT": "Text"]),
            defaultName: "f")
        #expect(configuration.runtimeAPI == "127.0.0.1:9001")
        #expect(configuration.functionName == "f")
        #expect(configuration.logFormat == .text)
        #expect(configuration.logLevel == .info)
        #expect(configuration.metricsNamespace == "swift-lambda-pipeline")
        #expect(configuration.maxEventBytes == 6 * 1024 * 1024 + 100)
    }

    @Test("The command line picks replay, the Runtime API loop, help or a usage error")
    func modes() {
        let lambda = Environment(["AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"])
        #expect(LambdaMain.mode(arguments: ["--event", "e.json"], environment: lambda) == .replay(eventPath: "e.json", timeout: .seconds(60)))
        #expect(LambdaMain.mode(arguments: ["--event", "-", "--timeout", "2.5"], environment: Environment()) == .replay(eventPath: "-", timeout: .milliseconds(2500)))
        #expect(LambdaMain.mode(arguments: [], environment: lambda) == .lambda)
        #expect(LambdaMain.mode(arguments: ["--help"], environment: Environment()) == .help)
        for arguments in [[], ["--event"], ["--timeout", "0", "--event", "x"], ["--verbose"]] {
            guard case .usageError = LambdaMain.mode(arguments: arguments, environment: Environment()) else {
                Issue.record("\(arguments) should be a usage error")
                continue
            }
        }
    }
}
