package import JSONCodec
import Primitives
import Synchronization

/// What happened to one SQS record of a batch.
package struct RecordResult: Sendable, Hashable {
    package enum Status: Sendable, Hashable {
        case succeeded
        /// The record's work threw; `error` says why.
        case failed(ErrorReport)
        /// Not started: the remaining time fell below the safety margin.
        case notStartedDeadline
        /// Not started: an earlier record of the same FIFO message group failed.
        case skippedGroupFailed(group: String)
    }

    package var messageId: String
    package var status: Status
    /// For a failure: when the message is worth another try, if its error says
    /// (`RedeliveryHint`), or at once for a record not started for lack of time.
    package var redeliverAfter: Duration?

    package init(messageId: String, status: Status, redeliverAfter: Duration? = nil) {
        self.messageId = messageId
        self.status = status
        self.redeliverAfter = redeliverAfter
    }

    package var isFailure: Bool {
        if case .succeeded = status { return false }
        return true
    }

    package var statusName: String {
        switch status {
        case .succeeded: "succeeded"
        case .failed: "failed"
        case .notStartedDeadline: "not-started-deadline"
        case .skippedGroupFailed: "skipped-group-failed"
        }
    }
}

/// The outcome of a batch: a result per record, in the event's order.
package struct BatchResult: Sendable, Hashable {
    package var records: [RecordResult]

    /// The message ids SQS must redeliver.
    package var failedMessageIds: [String] { records.filter(\.isFailure).map(\.messageId) }

    /// `{"batchItemFailures":[{"itemIdentifier":…},…]}`, the partial-batch response.
    package var response: JSON {
        .object(["batchItemFailures": .array(failedMessageIds.map { .object(["itemIdentifier": .string($0)]) })])
    }
}

/// An error that says when its SQS record is worth another try (a resume point was saved; a
/// claim held by another invocation runs out at a known time). The batch then asks SQS to make the
/// message visible again after that long, instead of after the queue's whole visibility timeout
/// (six times the function's timeout, as AWS advises: up to 90 minutes).
package protocol RedeliveryHint: Error {
    /// `nil`: no hint (the visibility timeout stands).
    var redeliverAfter: Duration? { get }
}

/// Makes failed messages visible again after a chosen time (SQS ChangeMessageVisibility).
package protocol MessageRedelivery: Sendable {
    /// Asks for each message to come back after its `after` (clamped to SQS's 0 s to 12 h). A
    /// request that fails is logged and otherwise ignored: the message still comes back after the
    /// visibility timeout.
    func redeliver(_ messages: [(record: SQSRecord, after: Duration)], context: LambdaContext) async
}

/// Runs an SQS batch record by record, for event sources with `ReportBatchItemFailures`.
///
/// - Each record is handled on its own; a failure fails that record only.
/// - Up to `maxConcurrentRecords` records run at once. Standard queues promise no order, so any
///   record may run beside any other. FIFO queues run one record at a time per message group
///   (in the event's order), up to `maxConcurrentRecords` groups at once.
/// - When the time left falls below `safetyMargin`, no new record starts; those not done are
///   reported as failures so SQS redelivers them (rather than the whole batch timing out).
/// - FIFO queues: after a failure, the later records of the same message group fail too, so the
///   group's order holds.
/// - With `redelivery`, failed records whose error gives a `RedeliveryHint`, and records not
///   started for lack of time, are made visible again after that long (the others wait out the
///   visibility timeout).
package struct SQSBatchProcessor: Sendable {
    package var safetyMargin: Duration
    /// How many records may run at the same time (at least 1). 1 keeps the event's order.
    package var maxConcurrentRecords: Int
    package var redelivery: (any MessageRedelivery)?

    package init(safetyMargin: Duration = .seconds(2), maxConcurrentRecords: Int = 1, redelivery: (any MessageRedelivery)? = nil) {
        self.safetyMargin = safetyMargin
        self.maxConcurrentRecords = max(1, maxConcurrentRecords)
        self.redelivery = redelivery
    }

    /// The batch's shared bookkeeping, guarded by a mutex while records run concurrently.
    private final class Shared: Sendable {
        let state: Mutex<State>
        init(_ state: State) { self.state = Mutex(state) }
        func withLock<T>(_ body: (inout State) -> T) -> T { state.withLock { body(&$0) } }
    }

    private struct State: Sendable {
        var results: [RecordResult?]
        var nextLane = 0
        /// Records whose fate is decided (started, skipped or cut by the deadline).
        var decided = 0
        var outOfTime = false
        var failedGroups: Set<String> = []
    }

    /// What a worker does with the next record of its lane.
    private enum Step {
        case run
        case skip(RecordResult.Status)
    }

    package func process(
        _ event: SQSEvent, context: LambdaContext, _ body: @Sendable (SQSRecord) async throws -> Void
    ) async -> BatchResult {
        let records = event.records
        let lanes = lanes(records)
        let state = Shared(State(results: Array(repeating: nil, count: records.count)))
        let workers = min(maxConcurrentRecords, lanes.count)
        if workers <= 1 {
            await work(records, lanes, state, context, body)
        } else {
            await withoutActuallyEscaping(body) { body in
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<workers {
                        group.addTask { await work(records, lanes, state, context, body) }
                    }
                }
            }
        }
        let results = state.withLock { state in
            zip(records, state.results).map { record, result in
                result ?? RecordResult(messageId: record.messageId, status: .notStartedDeadline, redeliverAfter: .zero)
            }
        }
        if let redelivery {
            let sooner = zip(records, results).compactMap { record, result -> (record: SQSRecord, after: Duration)? in
                guard result.isFailure, let after = result.redeliverAfter else { return nil }
                return (record, after)
            }
            if !sooner.isEmpty { await Self.redeliver(sooner, by: redelivery, context: context) }
        }
        let failures = results.filter(\.isFailure).count
        context.metrics.increment("Records", by: Double(results.count))
        context.metrics.increment("Failures", by: Double(failures))
        if failures > 0 {
            context.logger.warn(
                "batch finished with failures",
                ["records": .number(results.count), "failures": .number(failures)])
        }
        return BatchResult(records: results)
    }

    /// Asks for `messages` back sooner within the invocation's time: at most 5 s and never closer
    /// than half a second to the deadline (a slow or throttled SQS must not cost the batch's
    /// answer); what is not done by then waits out the visibility timeout.
    private static func redeliver(
        _ messages: [(record: SQSRecord, after: Duration)], by redelivery: any MessageRedelivery, context: LambdaContext
    ) async {
        let budget = min(context.remainingTime - .milliseconds(500), .seconds(5))
        guard budget > .zero else {
            context.logger.warn(
                "no time left to ask for failed messages back sooner: they come back after the visibility timeout",
                ["messages": .number(messages.count)])
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await redelivery.redeliver(messages, context: context) }
            group.addTask { try? await Task.sleep(for: budget) }
            await group.next()
            group.cancelAll()
        }
    }

    /// The indices of the records, in lanes that run one after another: one lane per record,
    /// except that a FIFO message group is one lane when records run concurrently.
    private func lanes(_ records: [SQSRecord]) -> [[Int]] {
        guard maxConcurrentRecords > 1 else { return records.indices.map { [$0] } }
        var lanes: [[Int]] = []
        var laneOfGroup: [String: Int] = [:]
        for (index, record) in records.enumerated() {
            guard let group = group(of: record) else {
                lanes.append([index])
                continue
            }
            if let lane = laneOfGroup[group] {
                lanes[lane].append(index)
            } else {
                laneOfGroup[group] = lanes.count
                lanes.append([index])
            }
        }
        return lanes
    }

    /// One worker: takes lanes until none is left and runs each lane's records in order.
    private func work(
        _ records: [SQSRecord], _ lanes: [[Int]], _ state: Shared, _ context: LambdaContext,
        _ body: (SQSRecord) async throws -> Void
    ) async {
        while let lane = state.withLock({ state -> [Int]? in
            guard state.nextLane < lanes.count else { return nil }
            state.nextLane += 1
            return lanes[state.nextLane - 1]
        }) {
            for index in lane {
                let record = records[index]
                let group = group(of: record)
                let (step, notStarted) = state.withLock { state -> (Step, Int?) in
                    var notStarted: Int?
                    if !state.outOfTime, context.remainingTime < safetyMargin {
                        state.outOfTime = true
                        notStarted = records.count - state.decided
                    }
                    state.decided += 1
                    if state.outOfTime { return (.skip(.notStartedDeadline), notStarted) }
                    if let group, state.failedGroups.contains(group) { return (.skip(.skippedGroupFailed(group: group)), nil) }
                    return (.run, nil)
                }
                if let notStarted {
                    context.logger.warn(
                        "remaining time below the safety margin: the records not started are reported as failures",
                        [
                            "remainingMs": .number(context.remainingTime.milliseconds),
                            "safetyMarginMs": .number(safetyMargin.milliseconds),
                            "notStarted": .number(notStarted),
                        ])
                }
                let result: RecordResult
                switch step {
                case .skip(let status):
                    let now: Duration? = if case .notStartedDeadline = status { .zero } else { nil }
                    result = RecordResult(messageId: record.messageId, status: status, redeliverAfter: now)
                case .run:
                    do {
                        try await body(record)
                        result = RecordResult(messageId: record.messageId, status: .succeeded)
                    } catch {
                        let report = ErrorReport(error)
                        result = RecordResult(
                            messageId: record.messageId, status: .failed(report), redeliverAfter: (error as? any RedeliveryHint)?.redeliverAfter)
                        context.logger.error(
                            "record failed",
                            [
                                "messageId": .string(record.messageId), "errorType": .string(report.errorType),
                                "errorMessage": .string(report.errorMessage),
                            ])
                    }
                }
                state.withLock { state in
                    state.results[index] = result
                    if result.isFailure, let group { state.failedGroups.insert(group) }
                }
            }
        }
    }

    /// A FIFO record's message group; without a group id (not expected from SQS), one group per
    /// queue. `nil` for standard queues.
    private func group(of record: SQSRecord) -> String? {
        guard record.isFIFO else { return nil }
        return record.messageGroupId ?? record.eventSourceARN
    }
}

/// A handler's business logic for one created S3 object announced through SQS.
package protocol S3ObjectHandler: Sendable {
    func handle(_ object: S3EventRecord, message: SQSRecord, context: LambdaContext) async throws
}

/// A `LambdaHandler` for SQS events whose messages carry S3 notifications: unwraps each body,
/// acknowledges `s3:TestEvent`, calls the object handler for every `ObjectCreated:*` record, fails
/// only the records that could not be handled, and answers with `batchItemFailures`.
package struct SQSS3BatchHandler<Handler: S3ObjectHandler>: LambdaHandler {
    package let handler: Handler
    package let processor: SQSBatchProcessor

    package init(_ handler: Handler, processor: SQSBatchProcessor = SQSBatchProcessor()) {
        self.handler = handler
        self.processor = processor
    }

    package func handle(_ event: [UInt8], context: LambdaContext) async throws -> [UInt8] {
        let sqs = try SQSEvent(bytes: event)
        let result = await handleBatch(sqs, context: context)
        return result.response.bytes
    }

    /// Runs the batch and returns each record's result.
    package func handleBatch(_ event: SQSEvent, context: LambdaContext) async -> BatchResult {
        await processor.process(event, context: context) { record in
            let notification: S3Notification
            do throws(LambdaRuntimeError) {
                notification = try S3Notification(body: record.body)
            } catch {
                context.logger.error(
                    "the message is not an S3 notification",
                    ["messageId": .string(record.messageId), "reason": .string(error.message)])
                throw error
            }
            switch notification {
            case .testEvent(let bucket):
                context.logger.info(
                    "s3:TestEvent acknowledged",
                    ["messageId": .string(record.messageId), "bucket": bucket.map(JSON.string) ?? .null])
            case .records(let objects):
                for object in objects {
                    guard object.isObjectCreated else {
                        context.logger.info(
                            "S3 event ignored (not ObjectCreated)",
                            ["messageId": .string(record.messageId), "eventName": .string(object.eventName)])
                        continue
                    }
                    try await handler.handle(object, message: record, context: context)
                    context.metrics.increment("Objects")
                    if let size = object.size { context.metrics.increment("Bytes", by: Double(size), unit: .bytes) }
                }
            }
        }
    }
}
