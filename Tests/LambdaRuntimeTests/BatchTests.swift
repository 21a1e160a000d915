import JSONCodec
import LambdaRuntime
import Primitives
import Synchronization
import Testing

/// Records the keys it saw; fails keys containing `failOn`; advances a manual clock per object.
final class RecordingObjectHandler: S3ObjectHandler {
    let seen = Mutex<[String]>([])
    let failOn: [String]
    let clock: ManualClock?
    let secondsPerObject: Int64

    init(failOn: [String] = [], clock: ManualClock? = nil, secondsPerObject: Int64 = 0) {
        self.failOn = failOn
        self.clock = clock
        self.secondsPerObject = secondsPerObject
    }

    struct Rejected: LambdaReportableError { var lambdaErrorType: String { "Function.Rejected" } }

    func handle(_ object: S3EventRecord, message: SQSRecord, context: LambdaContext) async throws {
        seen.withLock { $0.append(object.key) }
        clock?.advance(seconds: secondsPerObject)
        if failOn.contains(where: { object.key.contains($0) }) { throw Rejected() }
    }
}

extension RecordingObjectHandler {
    var keys: [String] { seen.withLock { $0 } }
}

@Suite("SQS batches of S3 notifications")
struct BatchTests {
    func run(_ fixtureName: String, _ handler: RecordingObjectHandler, margin: Duration = .seconds(2), context: LambdaContext)
        async throws -> (BatchResult, [UInt8])
    {
        let batch = SQSS3BatchHandler(handler, processor: SQSBatchProcessor(safetyMargin: margin))
        let bytes = try fixture(fixtureName)
        let result = await batch.handleBatch(try SQSEvent(bytes: bytes), context: context)
        return (result, result.response.bytes)
    }

    @Test("A batch where everything succeeds answers with an empty batchItemFailures list")
    func allSucceed() async throws {
        let handler = RecordingObjectHandler()
        let response = try await SQSS3BatchHandler(handler).handle(try fixture("s3-sqs-event.json"), context: testContext())
        #expect(String(decoding: response, as: UTF8.self) == #"{"batchItemFailures":[]}"#)
        #expect(handler.keys.contains("test.pdf"))
    }

    @Test("Bodies that are not JSON or not S3 notifications fail only their own records")
    func notJSONBody() async throws {
        let sink = MemoryLogSink()
        let handler = RecordingObjectHandler()
        let (result, response) = try await run("sqs-not-json-body.json", handler, context: testContext(sink: sink))
        #expect(result.failedMessageIds == ["m-bad-1", "m-bad-2"])
        #expect(failedIds(try json(response)) == ["m-bad-1", "m-bad-2"])
        #expect(result.records.map(\.statusName) == ["succeeded", "failed", "failed", "succeeded"])
        if case .failed(let report) = result.records[1].status {
            #expect(report.errorType == "Function.UnrecognisedMessage")
        } else {
            Issue.record("m-bad-1 should have failed")
        }
        #expect(handler.keys == ["received_files/good.csv", "received_files/good-2.csv"])
        let errors = sink.lines.filter { $0.contains(#""level":"ERROR""#) && $0.contains("not an S3 notification") }
        #expect(errors.count == 2)
        #expect(errors.first?.contains(#""messageId":"m-bad-1""#) == true)
    }

    @Test("An s3:TestEvent is acknowledged, not failed, and the next record is handled")
    func testEventAcknowledged() async throws {
        let sink = MemoryLogSink()
        let handler = RecordingObjectHandler()
        let (result, _) = try await run("sqs-test-event.json", handler, context: testContext(sink: sink))
        #expect(result.failedMessageIds.isEmpty)
        #expect(handler.keys == ["received_files/first.csv"])
        #expect(sink.lines.contains { $0.contains("s3:TestEvent acknowledged") && $0.contains(#""bucket":"bucketname""#) })
    }

    @Test("Several S3 records in one body: each ObjectCreated is handled, other events are skipped")
    func severalRecords() async throws {
        let context = testContext()
        let handler = RecordingObjectHandler()
        let (result, _) = try await run("sqs-multi-record-body.json", handler, context: context)
        #expect(result.failedMessageIds.isEmpty)
        #expect(handler.keys == ["received_files/orders-2024-05-24.csv", "received_files/big-extract.parquet"])
        let metrics = context.metrics.pendingMetrics
        #expect(metrics.first { $0.name == "Objects" }?.values == [2])
        #expect(metrics.first { $0.name == "Bytes" }?.values == [Double(18734 + 73_400_320)])
        #expect(metrics.first { $0.name == "Records" }?.values == [1])
    }

    @Test("FIFO: after a failure, the later records of the same message group fail too; other groups go on")
    func fifoGroupFails() async throws {
        let handler = RecordingObjectHandler(failOn: ["poison"])
        let (result, response) = try await run("sqs-fifo-batch.json", handler, context: testContext())
        #expect(failedIds(try json(response)) == ["fifo-2", "fifo-4"])
        #expect(result.records.map(\.statusName) == ["succeeded", "failed", "succeeded", "skipped-group-failed", "succeeded"])
        #expect(!handler.keys.contains("tenant-a/3-after-poison.csv"))
        #expect(handler.keys.contains("tenant-b/2-other-group.csv"))
    }

    @Test("A standard queue with a failure in the middle fails only that record")
    func standardQueueFailure() async throws {
        let handler = RecordingObjectHandler(failOn: ["slow-3"])
        let (result, _) = try await run("sqs-deadline-batch.json", handler, context: testContext())
        #expect(result.failedMessageIds == ["slow-3"])
    }

    @Test("When the remaining time falls below the margin, no new record starts and the rest are failures")
    func deadline() async throws {
        let clock = ManualClock(Timestamp(secondsSinceEpoch: 1_716_545_730))
        let sink = MemoryLogSink()
        // 10 s left, 2 s per object, 3 s margin: records start at 10, 8, 6, 4 s left; at 2 s, stop.
        let context = testContext(clock: clock, remaining: 10, sink: sink)
        let handler = RecordingObjectHandler(clock: clock, secondsPerObject: 2)
        let batch = SQSS3BatchHandler(handler, processor: SQSBatchProcessor(safetyMargin: .seconds(3)))
        let result = await batch.handleBatch(try SQSEvent(bytes: try fixture("sqs-deadline-batch.json")), context: context)
        #expect(result.failedMessageIds == ["slow-5", "slow-6"])
        #expect(result.records.suffix(2).allSatisfy { $0.status == .notStartedDeadline })
        #expect(handler.keys.count == 4)
        #expect(sink.lines.contains { $0.contains("safety margin") && $0.contains(#""notStarted":2"#) })
        #expect(context.metrics.pendingMetrics.first { $0.name == "Failures" }?.values == [2])
    }
}

/// Records what the batch asked to redeliver sooner.
final class RecordingRedelivery: MessageRedelivery {
    let asked = Mutex<[[(messageId: String, after: Duration)]]>([])

    func redeliver(_ messages: [(record: SQSRecord, after: Duration)], context: LambdaContext) async {
        asked.withLock { $0.append(messages.map { ($0.record.messageId, $0.after) }) }
    }
}

/// Fails `slow-2` with an error that says when to come back, `slow-3` with one that does not.
struct HintingObjectHandler: S3ObjectHandler {
    let clock: ManualClock
    var secondsPerObject: Int64 = 2

    struct ComeBackLater: RedeliveryHint { var redeliverAfter: Duration? { .seconds(5) } }
    struct NoHint: RedeliveryHint { var redeliverAfter: Duration? { nil } }

    func handle(_ object: S3EventRecord, message: SQSRecord, context: LambdaContext) async throws {
        clock.advance(seconds: secondsPerObject)
        if object.key.contains("slow-2") { throw ComeBackLater() }
        if object.key.contains("slow-3") { throw NoHint() }
    }
}

@Suite("SQS batches: failed messages made visible again sooner")
struct BatchRedeliveryTests {
    @Test("Hinted failures and records not started for lack of time are redelivered sooner, in one request; the rest wait")
    func hintedFailuresAndUnstartedRecords() async throws {
        let clock = ManualClock(Timestamp(secondsSinceEpoch: 1_716_545_730))
        // 10 s left, 2 s per object, 3 s margin: slow-5 and slow-6 do not start.
        let context = testContext(clock: clock, remaining: 10)
        let redelivery = RecordingRedelivery()
        let batch = SQSS3BatchHandler(
            HintingObjectHandler(clock: clock), processor: SQSBatchProcessor(safetyMargin: .seconds(3), redelivery: redelivery))
        let result = await batch.handleBatch(try SQSEvent(bytes: try fixture("sqs-deadline-batch.json")), context: context)
        #expect(result.failedMessageIds == ["slow-2", "slow-3", "slow-5", "slow-6"])
        let asked = redelivery.asked.withLock { $0 }
        #expect(asked.count == 1)
        #expect(asked.first?.map(\.messageId) == ["slow-2", "slow-5", "slow-6"])
        #expect(asked.first?.map(\.after) == [.seconds(5), .zero, .zero])
    }

    /// Takes a minute unless cancelled; says whether it was.
    final class SlowRedelivery: MessageRedelivery {
        let cancelled = Mutex(false)
        func redeliver(_ messages: [(record: SQSRecord, after: Duration)], context: LambdaContext) async {
            do {
                try await Task.sleep(for: .seconds(60))
            } catch {
                cancelled.withLock { $0 = true }
            }
        }
    }

    @Test("A slow SQS is given up on within the invocation's time (cancelled); with no time left it is not asked at all")
    func slowOrNoTime() async throws {
        let event = try SQSEvent(bytes: try fixture("sqs-deadline-batch.json"))
        // 1.2 s left, nothing takes time: the budget is 0.7 s.
        let slow = SlowRedelivery()
        let clock = ManualClock(Timestamp(secondsSinceEpoch: 1_716_545_730))
        let batch = SQSS3BatchHandler(
            HintingObjectHandler(clock: clock, secondsPerObject: 0), processor: SQSBatchProcessor(safetyMargin: .zero, redelivery: slow))
        let context = testContext(clock: clock, remainingMilliseconds: 1200)
        let result = await batch.handleBatch(event, context: context)
        #expect(result.failedMessageIds == ["slow-2", "slow-3"])
        #expect(slow.cancelled.withLock { $0 })

        let sink = MemoryLogSink()
        let unasked = RecordingRedelivery()
        let late = SQSS3BatchHandler(
            HintingObjectHandler(clock: clock, secondsPerObject: 0), processor: SQSBatchProcessor(safetyMargin: .zero, redelivery: unasked))
        _ = await late.handleBatch(event, context: testContext(clock: clock, remainingMilliseconds: 400, sink: sink))
        #expect(unasked.asked.withLock { $0 }.isEmpty)
        #expect(sink.lines.contains { $0.contains("no time left to ask for failed messages back sooner") })
    }

    @Test("A batch without hinted failures asks nothing")
    func nothingToRedeliver() async throws {
        let redelivery = RecordingRedelivery()
        let batch = SQSS3BatchHandler(
            RecordingObjectHandler(failOn: ["slow-3"]), processor: SQSBatchProcessor(safetyMargin: .seconds(2), redelivery: redelivery))
        let result = await batch.handleBatch(try SQSEvent(bytes: try fixture("sqs-deadline-batch.json")), context: testContext())
        #expect(result.failedMessageIds == ["slow-3"])
        #expect(redelivery.asked.withLock { $0 }.isEmpty)
    }
}
