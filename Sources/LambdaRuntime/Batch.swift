package import JSONCodec

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

/// Runs an SQS batch record by record, for event sources with `ReportBatchItemFailures`.
///
/// - Each record is handled on its own; a failure fails that record only.
/// - When the time left falls below `safetyMargin`, no new record starts; those not done are
///   reported as failures so SQS redelivers them (rather than the whole batch timing out).
/// - FIFO queues: after a failure, the later records of the same message group fail too, so the
///   group's order holds.
package struct SQSBatchProcessor: Sendable {
    package var safetyMargin: Duration

    package init(safetyMargin: Duration = .seconds(2)) { self.safetyMargin = safetyMargin }

    package func process(
        _ event: SQSEvent, context: LambdaContext, _ body: (SQSRecord) async throws -> Void
    ) async -> BatchResult {
        var results: [RecordResult] = []
        results.reserveCapacity(event.records.count)
        var failedGroups: Set<String> = []
        var outOfTime = false
        for record in event.records {
            if !outOfTime, context.remainingTime < safetyMargin {
                outOfTime = true
                context.logger.warn(
                    "remaining time below the safety margin: the records not started are reported as failures",
                    [
                        "remainingMs": .number(context.remainingTime.milliseconds),
                        "safetyMarginMs": .number(safetyMargin.milliseconds),
                        "notStarted": .number(event.records.count - results.count),
                    ])
            }
            let result: RecordResult
            if outOfTime {
                result = RecordResult(messageId: record.messageId, status: .notStartedDeadline)
            } else if record.isFIFO, let group = record.messageGroupId ?? fifoQueueGroup(record), failedGroups.contains(group) {
                result = RecordResult(messageId: record.messageId, status: .skippedGroupFailed(group: group))
            } else {
                do {
                    try await body(record)
                    result = RecordResult(messageId: record.messageId, status: .succeeded)
                } catch {
                    let report = ErrorReport(error)
                    result = RecordResult(messageId: record.messageId, status: .failed(report))
                    context.logger.error(
                        "record failed",
                        [
                            "messageId": .string(record.messageId), "errorType": .string(report.errorType),
                            "errorMessage": .string(report.errorMessage),
                        ])
                }
            }
            if result.isFailure, record.isFIFO, let group = record.messageGroupId ?? fifoQueueGroup(record) {
                failedGroups.insert(group)
            }
            results.append(result)
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

    /// A FIFO record without a group id (not expected from SQS) is treated as one group per queue.
    private func fifoQueueGroup(_ record: SQSRecord) -> String? { record.eventSourceARN }
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
