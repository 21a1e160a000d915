import AWSClients
import AWSCore
import FaultProxy
import Foundation
import HTTPTransport
import JSONCodec
import PipelineCore
import Primitives
import RuntimeAPIStandIn
import Testing

@testable import LocalStack

/// Where `swift build` put the bootstraps: beside the test bundle.
enum Binaries {
    /// The whole-stack tests' options: the debug bootstraps (each checked to exist), a fresh work
    /// directory, a 4 s function timeout, 240 s to settle, no progress output.
    static func stackOptions(workDirectoryPrefix: String) throws -> LocalStackOptions {
        for function in FunctionKind.allCases { _ = try path(function.executable) }
        var options = LocalStackOptions()
        options.binDirectory = directory
        options.repositoryRoot = repositoryRoot
        options.workDirectory = NSTemporaryDirectory() + "\(workDirectoryPrefix)-\(UUID().uuidString)"
        options.functionTimeoutSeconds = 4
        options.maxSeconds = 240
        options.verbose = false
        return options
    }

    static var directory: String {
        var url = URL(fileURLWithPath: Bundle.main.bundlePath)
        while url.path != "/", !FileManager.default.fileExists(atPath: url.appendingPathComponent("probe-lambda").path) {
            url = url.deletingLastPathComponent()
        }
        return url.path
    }

    static func path(_ name: String) throws -> String {
        let path = directory + "/" + name
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw LocalStackError(.launch, "\(name) is not built next to the tests (run swift build --build-tests first)")
        }
        return path
    }

    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }
}

/// A moto of our own for each test (the runner tests need short visibility timeouts and their own queues).
struct MotoFixture {
    let moto: MotoProcess
    let clients: PipelineClients
    let layout: StackLayout

    init(prefix: String) async throws {
        moto = try MotoProcess(script: Binaries.repositoryRoot + "/scripts/moto_stack.py", region: "us-east-1")
        clients = try await PipelineClients.make(environment: Environment(moto.awsEnvironment), transport: try CurlTransport())
        layout = StackLayout(prefix: prefix)
    }
}

@Suite("Event-source runner on moto", .serialized)
struct EventSourceRunnerTests {
    @Test("Succeeded messages are deleted; failed ones come back and reach the dead-letter queue after 3 receives")
    func partialBatchesAndDeadLetters() async throws {
        let fixture = try await MotoFixture(prefix: "runner-a")
        defer { fixture.moto.stop() }
        let queues = try await StackResources(layout: fixture.layout, clients: fixture.clients)
            .create(visibilityTimeout: 2, datasets: SampleData.catalog, starSchema: nil)
        let runner = try FunctionRunner(
            spec: FunctionSpec(
                kind: .dropbox, bootstrap: try Binaries.path("probe-lambda"),
                environment: fixture.moto.awsEnvironment.merging(["PROBE_FAIL_KEYS": "poison", "PROBE_SAFETY_MARGIN_MS": "100"]) { $1 },
                queueURL: queues.url[.dropbox]!, queueArn: queues.arn[.dropbox]!, region: "us-east-1",
                functionArn: fixture.layout.functionArn(.dropbox), batchSize: 10, timeout: .seconds(5),
                logPath: NSTemporaryDirectory() + "runner-a-\(UUID().uuidString).log"),
            sqs: fixture.clients.sqs)
        try runner.start()
        defer { runner.stop() }
        for name in ["good-1.csv", "poison.csv", "good-2.csv"] {
            _ = try await fixture.clients.s3.putObject(
                bucket: fixture.layout.dropboxBucket, key: "received_files/\(name)", body: Array("x".utf8))
        }
        let dlq = queues.deadLetterURL[.dropbox]!
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            _ = try await runner.pollOnce(waitSeconds: 1)
            if try await InventoryReader.depth(fixture.clients.sqs, dlq) == 1,
                try await InventoryReader.depth(fixture.clients.sqs, queues.url[.dropbox]!) == 0
            {
                break
            }
        }
        let counters = runner.snapshot
        #expect(counters.messagesDeleted == 2)
        // Received three times (maxReceiveCount), reported failed each time, then moved by SQS.
        #expect(counters.messagesFailed == 3)
        #expect(counters.invocationErrors == 0)
        let dead = try await fixture.clients.sqs.receiveMessages(queueURL: dlq, maxMessages: 10)
        #expect(dead.count == 1)
        #expect(dead.first?.body.contains("poison.csv") == true)
        #expect(runner.standIn.results.count == counters.invocations)
    }

    @Test("An invocation error leaves the whole batch; a bootstrap that dies is restarted and counted")
    func invocationErrorsAndRestarts() async throws {
        let fixture = try await MotoFixture(prefix: "runner-b")
        defer { fixture.moto.stop() }
        let queues = try await StackResources(layout: fixture.layout, clients: fixture.clients)
            .create(visibilityTimeout: 30, datasets: SampleData.catalog, starSchema: nil)
        let runner = try FunctionRunner(
            spec: FunctionSpec(
                kind: .ingest, bootstrap: try Binaries.path("probe-lambda"),
                environment: fixture.moto.awsEnvironment.merging(["PROBE_THROW": "always failing"]) { $1 },
                queueURL: queues.url[.ingest]!, queueArn: queues.arn[.ingest]!, region: "us-east-1",
                functionArn: fixture.layout.functionArn(.ingest), batchSize: 10, timeout: .seconds(5),
                logPath: NSTemporaryDirectory() + "runner-b-\(UUID().uuidString).log"),
            sqs: fixture.clients.sqs)
        try runner.start()
        defer { runner.stop() }
        for index in 0..<2 {
            _ = try await fixture.clients.s3.putObject(bucket: fixture.layout.ingestBucket, key: "in/telemetry/\(index).csv", body: [0x31])
        }
        var handled = 0
        while handled < 2 { handled += try await runner.pollOnce(waitSeconds: 2) }
        #expect(runner.snapshot.invocationErrors >= 1)
        #expect(runner.snapshot.messagesDeleted == 0)
        #expect(runner.standIn.invocationErrors.first?.errorType == "Function.ProbeFailure")
        // Both messages are still in flight (invisible), not deleted.
        #expect(try await InventoryReader.depth(fixture.clients.sqs, queues.url[.ingest]!) == 2)

        // Kill the warm instance: the run loop starts a new one.
        let pid = try #require(runner.processIdentifier)
        kill(pid, SIGKILL)
        let task = Task { await runner.run() }
        let deadline = ContinuousClock.now + .seconds(20)
        while runner.snapshot.restarts == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        runner.stop()
        await task.value
        #expect(runner.snapshot.restarts == 1)
    }
}

@Suite("pipelinectl on moto", .serialized)
struct PipelineCtlTests {
    struct Lines: Sendable {
        let box = LockedLines()
        var output: @Sendable (String) -> Void { { [box] in box.append($0) } }
    }

    final class LockedLines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }

    static func environment(_ fixture: MotoFixture) -> Environment {
        var env = fixture.moto.awsEnvironment
        env["INGEST_STATUS_TABLE"] = fixture.layout.statusTable
        env["DROPBOX_BUCKET_NAME"] = fixture.layout.dropboxBucket
        env["INGEST_BUCKET_NAME"] = fixture.layout.ingestBucket
        return Environment(env)
    }

    @Test("status --file and --dataset read the GSIs; an unknown file is NotFound")
    func status() async throws {
        let fixture = try await MotoFixture(prefix: "ctl-a")
        defer { fixture.moto.stop() }
        _ = try await StackResources(layout: fixture.layout, clients: fixture.clients)
            .create(visibilityTimeout: 30, datasets: SampleData.catalog, starSchema: nil)
        let store = StatusStore(dynamoDB: fixture.clients.dynamoDB, table: fixture.layout.statusTable)
        let file = TrackedFile(dataset: "telemetry", fileName: "st-01/a.csv", bucket: "b", key: "in/telemetry/st-01/a.csv", size: 10, etag: "e1")
        let fileId = FileId.make(dataset: "telemetry", relativePath: "st-01/a.csv", etag: "e1", versionId: nil)
        let deadline = SystemClock().now().adding(seconds: 60)
        _ = try await store.claim(fileId: fileId, stage: .ingest, file: file, owner: "req-1", deadline: deadline)
        try await store.complete(
            fileId: fileId, stage: .ingest, owner: "req-1",
            outcome: StatusOutcome(status: .failed, reason: "every record failed", errorCode: "TooManyFailedRecords", records: 4, indexed: 0, failed: 4))
        let lines = Lines()
        let ctl = PipelineCtl(environment: Self.environment(fixture), clients: fixture.clients, output: lines.output)
        let records = try await ctl.status(file: "st-01/a.csv")
        #expect(records.map(\.rawStatus) == ["FAILED"])
        #expect(lines.box.all.first?.contains("TooManyFailedRecords") == true)
        #expect(lines.box.all.first?.contains("every record failed") == true)
        let byDataset = try await ctl.status(dataset: "telemetry", since: nil, until: nil)
        #expect(byDataset.count == 1)
        #expect(try await ctl.status(dataset: "telemetry", since: Timestamp(secondsSinceEpoch: 0), until: Timestamp(secondsSinceEpoch: 10)).isEmpty)
        await #expect(throws: LocalStackError.self) { try await ctl.status(file: "nope.csv") }
        await #expect(throws: LocalStackError.self) { try await ctl.run(["status", "--since", "yesterday"]) }
    }

    @Test("redrive moves every dead-letter message back to its source queue, bodies and attributes kept")
    func redrive() async throws {
        let fixture = try await MotoFixture(prefix: "ctl-b")
        defer { fixture.moto.stop() }
        let queues = try await StackResources(layout: fixture.layout, clients: fixture.clients)
            .create(visibilityTimeout: 30, datasets: SampleData.catalog, starSchema: nil)
        let dlq = queues.deadLetterURL[.ingest]!
        for index in 0..<13 {
            _ = try await fixture.clients.sqs.sendMessage(queueURL: dlq, body: "message \(index)", attributes: ["n": .number(index)])
        }
        let ctl = PipelineCtl(environment: Self.environment(fixture), clients: fixture.clients, output: Lines().output)
        let moved = try await ctl.redrive(deadLetterQueue: fixture.layout.deadLetterQueueName(.ingest), to: nil)
        #expect(moved == 13)
        #expect(try await InventoryReader.depth(fixture.clients.sqs, dlq) == 0)
        var bodies = Set<String>()
        while true {
            let batch = try await fixture.clients.sqs.receiveMessages(
                queueURL: queues.url[.ingest]!, maxMessages: 10, messageAttributeNames: ["All"])
            if batch.isEmpty { break }
            for message in batch {
                bodies.insert(message.body)
                #expect(message.messageAttributes["n"] != nil)
            }
        }
        #expect(bodies == Set((0..<13).map { "message \($0)" }))
        await #expect(throws: LocalStackError.self) { try await ctl.redrive(deadLetterQueue: "no-such-queue", to: nil) }
    }

    @Test("resubmit copies a failed file back under in/ and forgets its final ingest status")
    func resubmit() async throws {
        let fixture = try await MotoFixture(prefix: "ctl-c")
        defer { fixture.moto.stop() }
        _ = try await StackResources(layout: fixture.layout, clients: fixture.clients)
            .create(visibilityTimeout: 30, datasets: SampleData.catalog, starSchema: nil)
        let body = Array("station_id,reading_id\nst-01,x\n".utf8)
        let put = try await fixture.clients.s3.putObject(bucket: fixture.layout.ingestBucket, key: "failed/telemetry/st-01/b.csv", body: body)
        let etag = FileId.unquoted(put.etag ?? "")
        let store = StatusStore(dynamoDB: fixture.clients.dynamoDB, table: fixture.layout.statusTable)
        let fileId = FileId.make(dataset: "telemetry", relativePath: "st-01/b.csv", etag: etag, versionId: nil)
        let file = TrackedFile(dataset: "telemetry", fileName: "st-01/b.csv", bucket: fixture.layout.ingestBucket, key: "in/telemetry/st-01/b.csv", size: Int64(body.count), etag: etag)
        _ = try await store.claim(fileId: fileId, stage: .ingest, file: file, owner: "r", deadline: SystemClock().now().adding(seconds: 60))
        try await store.complete(fileId: fileId, stage: .ingest, owner: "r", outcome: StatusOutcome(status: .failed, reason: "bad"))

        let ctl = PipelineCtl(environment: Self.environment(fixture), clients: fixture.clients, output: Lines().output)
        let destination = try await ctl.resubmit(key: "failed/telemetry/st-01/b.csv")
        #expect(destination == "\(fixture.layout.ingestBucket)/in/telemetry/st-01/b.csv")
        let copied = try await fixture.clients.s3.headObject(bucket: fixture.layout.ingestBucket, key: "in/telemetry/st-01/b.csv")
        #expect(copied.objectSize == Int64(body.count))
        #expect(try await store.get(fileId: fileId, stage: .ingest) == nil)
        // The ingest queue got the copy's event: the pipeline will run the file again.
        #expect(try await InventoryReader.depth(fixture.clients.sqs, try await fixture.clients.sqs.getQueueURL(name: fixture.layout.queueName(.ingest))) == 1)
        await #expect(throws: LocalStackError.self) { try await ctl.resubmit(key: "failed/telemetry/st-01/b.csv.errors.jsonl") }
        await #expect(throws: LocalStackError.self) { try await ctl.resubmit(key: "in/telemetry/st-01/b.csv") }
        await #expect(throws: LocalStackError.self) { try await ctl.resubmit(key: "failed/telemetry/missing.csv") }
    }
}

@Suite("The main command", .serialized)
struct LocalStackMainCommandTests {
    @Test("LocalStack end to end: every record of every accepted file is in OpenSearch or an errors object, every table has its rows, every rejected file its reason")
    func mainCommandLocalStack() async throws {
        let options = try Binaries.stackOptions(workDirectoryPrefix: "local-stack-test")
        let report = try await LocalStackRun(options: options).run()
        let summary = SummaryRenderer.lines(report, layout: StackLayout()).joined(separator: "\n")
        #expect(report.stages == Set(FunctionKind.allCases), "\(summary)")
        #expect(report.settled, "\(summary)")
        #expect(report.accounting.problems.isEmpty, "\(summary)")
        // The summary against the generated data, directly.
        let sample = report.sample
        for file in sample.rejected {
            let record = report.inventory.status(stage: .dropbox, fileName: file.name)
            #expect(record?.status == .rejected && !(record?.reason ?? "").isEmpty, "\(file.name)")
        }
        let indexed = report.inventory.documents.values.reduce(0, +)
        let errors = report.inventory.errorObjects.values.reduce(0, +)
        #expect(indexed + errors == sample.totalRecords)
        for (table, rows) in report.expectedTables { #expect(report.inventory.tableRows[table] == Int64(rows), "\(table)") }
        #expect(!report.expectedTables.isEmpty)
        #expect(report.passed)
        try? FileManager.default.removeItem(atPath: options.workDirectory)
    }
}

@Suite("The chaos run", .serialized)
struct ChaosRunTests {
    @Test("Chaos run, short form: with 10% of requests faulted, every message delivered twice and invocations killed mid-file, the end state equals the clean run's")
    func chaosRunShortForm() async throws {
        var options = try Binaries.stackOptions(workDirectoryPrefix: "chaos-test")
        var faults = ChaosSettings()
        faults.seed = 1
        options.faults = faults
        options.chaos = true
        let report = try await ChaosRun(options: options).run()
        let summary = ChaosRun.lines(report).joined(separator: "\n")
        #expect(report.clean.passed, "\(summary)")
        #expect(report.chaos.passed, "\(summary)")
        #expect(report.comparison.differences.isEmpty, "\(summary)")
        // The chaos really happened: every kind of fault, retries, duplicates and kills.
        let figures = try #require(report.chaos.chaosFigures)
        for kind in FaultKind.allCases { #expect(figures.proxies.faults[kind, default: 0] > 0, "no \(kind) fault\n\(summary)") }
        #expect(figures.proxies.retries > 0)
        #expect(figures.kills > 0)
        let received = report.chaos.counters.values.reduce(0) { $0 + $1.messagesReceived }
        #expect(figures.duplicateDeliveries == received, "every message received was delivered twice\n\(summary)")
        // The clean run had none of it, and both ended with every document, row and status.
        #expect(report.clean.chaosFigures == nil)
        #expect(report.chaos.endState.totalDocuments == report.clean.sample.documentsPerIndex.values.reduce(0, +))
        #expect(report.passed)
        try? FileManager.default.removeItem(atPath: options.workDirectory)
    }
}
