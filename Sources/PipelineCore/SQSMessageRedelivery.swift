package import AWSClients
import AWSCore
import JSONCodec
package import LambdaRuntime

/// `MessageRedelivery` over SQS: ChangeMessageVisibilityBatch on each message's queue (its URL
/// made from the record's `eventSourceARN`).
package struct SQSMessageRedelivery: MessageRedelivery {
    package let sqs: SQSClient

    /// SQS's longest visibility timeout.
    package static let longest: Duration = .seconds(43_200)

    package init(sqs: SQSClient) { self.sqs = sqs }

    /// The visibility timeout SQS is given for `after`: whole seconds, rounded up, within 0 s to 12 h.
    package static func seconds(_ after: Duration) -> Int {
        let clamped = min(max(after, .zero), longest)
        let (seconds, attoseconds) = clamped.components
        return Int(seconds) + (attoseconds > 0 ? 1 : 0)
    }

    package func redeliver(_ messages: [(record: SQSRecord, after: Duration)], context: LambdaContext) async {
        var byQueue: [String: [(record: SQSRecord, after: Duration)]] = [:]
        for message in messages { byQueue[message.record.eventSourceARN, default: []].append(message) }
        for (arn, messages) in byQueue.sorted(by: { $0.key < $1.key }) {
            do throws(AWSError) {
                guard let url = sqs.queueURL(ofARN: arn) else {
                    throw AWSError.invalidRequest("the record's eventSourceARN '\(arn)' is not an SQS queue ARN")
                }
                for start in stride(from: 0, to: messages.count, by: 10) {
                    let chunk = messages[start..<min(start + 10, messages.count)]
                    let entries = chunk.enumerated().map {
                        (id: String($0.offset), receiptHandle: $0.element.record.receiptHandle, visibilityTimeout: Self.seconds($0.element.after))
                    }
                    let result = try await sqs.changeMessageVisibilityBatch(queueURL: url, entries: entries)
                    for failure in result.failed {
                        let messageId = Int(failure.id).map { chunk[chunk.startIndex + $0].record.messageId } ?? failure.id
                        context.logger.warn(
                            "SQS refused to make a message visible sooner: it comes back after the visibility timeout",
                            ["messageId": .string(messageId), "code": .string(failure.code)])
                    }
                    context.metrics.increment("RedeliveriesSooner", by: Double(result.successful.count))
                }
                context.logger.info(
                    "failed messages come back sooner than the visibility timeout",
                    [
                        "queue": .string(arn), "messages": .number(messages.count),
                        "afterSeconds": .array(messages.map { .number(Self.seconds($0.after)) }),
                    ])
            } catch {
                context.logger.warn(
                    "making failed messages visible sooner failed: they come back after the visibility timeout",
                    ["queue": .string(arn), "messages": .number(messages.count), "reason": .string("\(error)")])
            }
        }
    }
}
