import JSONCodec
import LambdaRuntime
import Primitives
import Synchronization
import Testing

/// An object handler that keeps a journal of what ran when: how many objects were in flight at
/// most (overall and per FIFO group), the order in which each group's objects started, and which
/// keys started at all. A gate can hold an object until a condition on that journal holds.
final class JournalingObjectHandler: S3ObjectHandler {
    struct Journal {
        var inFlight = 0
        var maxInFlight = 0
        var started: [String] = []
        var finished: [String] = []
        var inFlightPerGroup: [String: Int] = [:]
        var maxInFlightPerGroup: [String: Int] = [:]
        var advanced = 0
    }

    let journal = Mutex(Journal())
    let failOn: [String]
    /// Objects wait here, after they start, until the condition is true (or 10 s have passed).
    let gate: @Sendable (String, Journal) -> Bool
    /// When set, each object advances it by `secondsPerObject`, then waits until every object in
    /// flight has done so.
    let clock: ManualClock?
    let secondsPerObject: Int64

    init(
        failOn: [String] = [], clock: ManualClock? = nil, secondsPerObject: Int64 = 0,
        gate: @escaping @Sendable (String, Journal) -> Bool = { _, _ in true }
    ) {
        self.failOn = failOn
        self.clock = clock
        self.secondsPerObject = secondsPerObject
        self.gate = gate
    }

    struct Failed: LambdaReportableError { var lambdaErrorType: String { "Function.Failed" } }
    struct GateTimedOut: Error {}

    /// The group of a key `tenant-x/…` (its first path segment).
    static func group(_ key: String) -> String { String(key.split(separator: "/").first ?? "") }

    func handle(_ object: S3EventRecord, message: SQSRecord, context: LambdaContext) async throws {
        let key = object.key
        let group = Self.group(key)
        journal.withLock { journal in
            journal.inFlight += 1
            journal.maxInFlight = max(journal.maxInFlight, journal.inFlight)
            journal.started.append(key)
            journal.inFlightPerGroup[group, default: 0] += 1
            journal.maxInFlightPerGroup[group] = max(journal.maxInFlightPerGroup[group] ?? 0, journal.inFlightPerGroup[group]!)
        }
        defer {
            journal.withLock { journal in
                journal.inFlight -= 1
                journal.inFlightPerGroup[group, default: 0] -= 1
                journal.finished.append(key)
            }
        }
        guard await waitUntil({ gate(key, journal.withLock { $0 }) }) else { throw GateTimedOut() }
        if let clock {
            clock.advance(seconds: secondsPerObject)
            let inFlight = journal.withLock { journal in
                journal.advanced += 1
                return journal.inFlight
            }
            guard await waitUntil({ journal.withLock { $0.advanced >= inFlight } }) else { throw GateTimedOut() }
        }
        if failOn.contains(where: { key.contains($0) }) { throw Failed() }
    }

    var snapshot: Journal { journal.withLock { $0 } }

    /// Polls `condition` until it holds; `false` after 10 s.
    private func waitUntil(_ condition: () -> Bool) async -> Bool {
        let limit = ContinuousClock.now.advanced(by: .seconds(10))
        while !condition() {
            if ContinuousClock.now > limit { return false }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return true
    }
}

@Suite("SQS batches with records handled concurrently")
struct ConcurrentBatchTests {
    func run(
        _ fixtureName: String, _ handler: JournalingObjectHandler, concurrency: Int, margin: Duration = .seconds(2),
        context: LambdaContext
    ) async throws -> BatchResult {
        let processor = SQSBatchProcessor(safetyMargin: margin, maxConcurrentRecords: concurrency)
        let batch = SQSS3BatchHandler(handler, processor: processor)
        return await batch.handleBatch(try SQSEvent(bytes: try fixture(fixtureName)), context: context)
    }

    @Test("A standard queue's records run up to maxConcurrentRecords at once, never more, and all are handled")
    func boundedInFlight() async throws {
        // The first four objects wait for each other, so four are in flight together.
        let handler = JournalingObjectHandler(gate: { _, journal in journal.started.count >= 4 })
        let context = testContext()
        let result = try await run("sqs-standard-batch-10.json", handler, concurrency: 4, context: context)
        #expect(result.failedMessageIds.isEmpty)
        #expect(result.records.map(\.messageId) == (1...10).map { "std-\($0)" })
        #expect(result.records.allSatisfy { $0.status == .succeeded })
        let journal = handler.snapshot
        #expect(journal.maxInFlight == 4)
        #expect(Set(journal.finished) == Set((1...10).map { "received_files/std-\($0).csv" }))
        #expect(journal.finished.count == 10)
        let metrics = context.metrics.pendingMetrics
        #expect(metrics.first { $0.name == "Records" }?.values == [10])
        #expect(metrics.first { $0.name == "Failures" }?.values == [0])
        #expect(metrics.first { $0.name == "Objects" }?.values == [10])
    }

    @Test("With maxConcurrentRecords 1 the records run one at a time in the event's order")
    func sequentialByDefault() async throws {
        let handler = JournalingObjectHandler()
        let result = try await run("sqs-standard-batch-10.json", handler, concurrency: 1, context: testContext())
        #expect(result.failedMessageIds.isEmpty)
        #expect(handler.snapshot.maxInFlight == 1)
        #expect(handler.snapshot.started == (1...10).map { "received_files/std-\($0).csv" })
        #expect(SQSBatchProcessor().maxConcurrentRecords == 1)
        #expect(SQSBatchProcessor(maxConcurrentRecords: 0).maxConcurrentRecords == 1)
    }

    @Test("Failures among concurrent records fail exactly those records, each logged with its message id")
    func concurrentFailures() async throws {
        let sink = MemoryLogSink()
        let handler = JournalingObjectHandler(failOn: ["std-3.", "std-7."], gate: { _, journal in journal.started.count >= 4 })
        let context = testContext(sink: sink)
        let result = try await run("sqs-standard-batch-10.json", handler, concurrency: 4, context: context)
        #expect(result.failedMessageIds == ["std-3", "std-7"])
        #expect(failedIds(try json(result.response.bytes)) == ["std-3", "std-7"])
        let failedLines = sink.lines.filter { $0.contains("record failed") }
        #expect(failedLines.count == 2)
        #expect(failedLines.contains { $0.contains(#""messageId":"std-3""#) && $0.contains("Function.Failed") })
        #expect(failedLines.contains { $0.contains(#""messageId":"std-7""#) })
        #expect(context.metrics.pendingMetrics.first { $0.name == "Failures" }?.values == [2])
    }

    @Test("A deadline reached while records run concurrently stops new records; the running ones finish")
    func deadlineWhileConcurrent() async throws {
        let clock = ManualClock(Timestamp(secondsSinceEpoch: 1_716_545_730))
        let sink = MemoryLogSink()
        // 10 s left, 3 s margin: four objects start together, each takes 2 s of the shared clock,
        // so when a worker looks for its next record 2 s are left: nothing more starts.
        let context = testContext(clock: clock, remaining: 10, sink: sink)
        let handler = JournalingObjectHandler(clock: clock, secondsPerObject: 2, gate: { _, journal in journal.started.count >= 4 })
        let result = try await run("sqs-standard-batch-10.json", handler, concurrency: 4, margin: .seconds(3), context: context)
        #expect(result.records.prefix(4).allSatisfy { $0.status == .succeeded })
        #expect(result.records.suffix(6).allSatisfy { $0.status == .notStartedDeadline })
        #expect(result.failedMessageIds == (5...10).map { "std-\($0)" })
        #expect(failedIds(try json(result.response.bytes)) == (5...10).map { "std-\($0)" })
        #expect(Set(handler.snapshot.started) == Set((1...4).map { "received_files/std-\($0).csv" }))
        let warnings = sink.lines.filter { $0.contains("safety margin") }
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains(#""notStarted":6"#) == true)
        #expect(context.metrics.pendingMetrics.first { $0.name == "Failures" }?.values == [6])
    }

    @Test("FIFO groups that interleave run side by side, each group one record at a time in order; a failed group stops")
    func fifoInterleaved() async throws {
        // The first records of tenant-a and tenant-b wait for each other: only possible when
        // groups run concurrently.
        let handler = JournalingObjectHandler(failOn: ["poison"]) { key, journal in
            guard key.hasSuffix("1-first.csv") else { return true }
            return journal.started.contains("tenant-a/1-first.csv") && journal.started.contains("tenant-b/1-first.csv")
        }
        let result = try await run("sqs-fifo-interleaved.json", handler, concurrency: 4, context: testContext())
        #expect(
            result.records.map(\.statusName) == [
                "succeeded", "succeeded", "failed", "succeeded", "skipped-group-failed", "succeeded", "succeeded",
            ])
        #expect(result.failedMessageIds == ["fifo-a2", "fifo-a3"])
        if case .skippedGroupFailed(let group) = result.records[4].status { #expect(group == "tenant-a") }
        let journal = handler.snapshot
        #expect(journal.maxInFlightPerGroup.values.allSatisfy { $0 == 1 })
        #expect(journal.maxInFlight >= 2)
        let started = journal.started
        #expect(started.filter { $0.hasPrefix("tenant-a/") } == ["tenant-a/1-first.csv", "tenant-a/2-poison.csv"])
        #expect(started.filter { $0.hasPrefix("tenant-b/") } == ["tenant-b/1-first.csv", "tenant-b/2-second.csv", "tenant-b/3-third.csv"])
        #expect(started.contains("tenant-c/1-only.csv"))
    }

    @Test("FIFO with maxConcurrentRecords 1 keeps the event's order across groups")
    func fifoSequential() async throws {
        let handler = JournalingObjectHandler(failOn: ["poison"])
        let result = try await run("sqs-fifo-interleaved.json", handler, concurrency: 1, context: testContext())
        #expect(result.failedMessageIds == ["fifo-a2", "fifo-a3"])
        #expect(
            handler.snapshot.started == [
                "tenant-a/1-first.csv", "tenant-b/1-first.csv", "tenant-a/2-poison.csv", "tenant-b/2-second.csv",
                "tenant-b/3-third.csv", "tenant-c/1-only.csv",
            ])
    }
}
