package import AWSCore
import JSONCodec

/// Why one item of a cancelled transaction stopped it (DynamoDB's `CancellationReason`).
package struct CancellationReason: Sendable, Hashable, CustomStringConvertible {
    /// `None` for items that were fine, else `ConditionalCheckFailed`, `ItemCollectionSizeLimitExceeded`,
    /// `TransactionConflict`, `ProvisionedThroughputExceeded`, `ThrottlingError`, `ValidationError`…
    package var code: String
    package var message: String?
    /// The item as it was, when `returnOldItemOnConditionFailure` was asked for and the condition failed.
    package var item: Item?

    package init(code: String, message: String? = nil, item: Item? = nil) {
        self.code = code
        self.message = message
        self.item = item
    }

    package var isConditionalCheckFailed: Bool { code == "ConditionalCheckFailed" }
    /// Whether this item did not cause the cancellation.
    package var isNone: Bool { code == "None" }

    package var description: String {
        var text = code
        if let message, !message.isEmpty { text += " (\(message))" }
        return text
    }
}

/// What a DynamoDB call can fail with. The two outcomes callers branch on, a failed condition and
/// a cancelled transaction, are cases of their own; everything else is the `AWSError`.
package enum DynamoDBError: Error, Sendable, CustomStringConvertible {
    /// `ConditionalCheckFailedException`; `item` is the item as it was when the call asked for it
    /// (`returnOldItemOnConditionFailure`) and it existed.
    case conditionalCheckFailed(item: Item?)
    /// `TransactionCanceledException`, with one reason per item of the transaction, in order.
    case transactionCanceled(reasons: [CancellationReason])
    /// The request was not sent because it could not be valid (an empty set, a bad number…).
    case invalidRequest(String)
    /// A wait (for a table to become active) gave up.
    case timedOut(String)
    /// Any other failure: the service's error, the transport, credentials, an unreadable answer.
    case aws(AWSError)

    /// A stable code: `ConditionalCheckFailedException`, `TransactionCanceledException`,
    /// `InvalidRequest`, `TimedOut`, or the service's own code (`ResourceNotFoundException`…), else
    /// `Transport`, `Credentials` or `InvalidResponse`.
    package var code: String {
        switch self {
        case .conditionalCheckFailed: "ConditionalCheckFailedException"
        case .transactionCanceled: "TransactionCanceledException"
        case .invalidRequest: "InvalidRequest"
        case .timedOut: "TimedOut"
        case .aws(let error): error.stableCode
        }
    }

    /// The AWS error underneath, if this is one.
    package var awsError: AWSError? {
        if case .aws(let error) = self { return error }
        return nil
    }

    /// Item contents never appear here: only counts and codes.
    package var description: String {
        switch self {
        case .conditionalCheckFailed(let item):
            if let item { return "DynamoDB: the condition failed (the current item, with \(item.count) attributes, was returned)" }
            return "DynamoDB: the condition failed"
        case .transactionCanceled(let reasons):
            return "DynamoDB: the transaction was cancelled: [\(reasons.map(\.code).joined(separator: ", "))]"
        case .invalidRequest(let detail):
            return "DynamoDB: invalid request: \(detail)"
        case .timedOut(let detail):
            return "DynamoDB: timed out: \(detail)"
        case .aws(let error):
            return "DynamoDB: \(error)"
        }
    }

    /// Turns a service error into the typed cases where one fits.
    package static func from(_ error: AWSError) -> DynamoDBError {
        guard case .service(let service) = error else { return .aws(error) }
        switch service.code {
        case "ConditionalCheckFailedException":
            if let json = service.details?["Item"], let item = try? AttributeValue.item(json: json) {
                return .conditionalCheckFailed(item: item)
            }
            return .conditionalCheckFailed(item: nil)
        case "TransactionCanceledException":
            var reasons = [CancellationReason]()
            for reason in service.details?["CancellationReasons"]?.arrayValue ?? [] {
                reasons.append(
                    CancellationReason(
                        code: reason["Code"]?.stringValue ?? "None",
                        message: reason["Message"]?.stringValue,
                        item: reason["Item"].flatMap { try? AttributeValue.item(json: $0) }))
            }
            if reasons.isEmpty { reasons = parseReasons(fromMessage: service.message) }
            return .transactionCanceled(reasons: reasons)
        default:
            return .aws(error)
        }
    }

    /// Older services and proxies give the reasons only in the message:
    /// `Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]`.
    static func parseReasons(fromMessage message: String) -> [CancellationReason] {
        guard let open = message.lastIndex(of: "["), let close = message.lastIndex(of: "]"), open < close else { return [] }
        return message[message.index(after: open)..<close].split(separator: ",").map {
            CancellationReason(code: String($0.drop(while: { $0 == " " })))
        }
    }
}
