package import AWSCore
import JSONCodec
package import Primitives

/// A user message attribute: a string, a number (kept as text) or binary, with an optional custom
/// type suffix (`Number.int`).
package struct SQSMessageAttribute: Sendable, Hashable {
    package enum Value: Sendable, Hashable {
        case string(String)
        case number(String)
        case binary([UInt8])
    }
    package var value: Value
    /// `String`, `Number` or `Binary`, possibly with a custom suffix (`String.json`).
    package var dataType: String

    package init(_ value: Value, customType: String? = nil) {
        self.value = value
        let base: String
        switch value {
        case .string: base = "String"
        case .number: base = "Number"
        case .binary: base = "Binary"
        }
        dataType = customType.map { "\(base).\($0)" } ?? base
    }

    package static func string(_ text: String) -> SQSMessageAttribute { SQSMessageAttribute(.string(text)) }
    package static func number(_ value: Int) -> SQSMessageAttribute { SQSMessageAttribute(.number(String(value))) }

    /// The string or number text (nil for binary).
    package var stringValue: String? {
        switch value {
        case .string(let text), .number(let text): text
        case .binary: nil
        }
    }

    var json: JSON {
        var object: JSONObject = ["DataType": .string(dataType)]
        switch value {
        case .string(let text), .number(let text): object.append("StringValue", .string(text))
        case .binary(let bytes): object.append("BinaryValue", .string(Base64.encode(bytes)))
        }
        return .object(object)
    }

    init(json: JSON, name: String) throws(AWSError) {
        guard let type = json["DataType"]?.stringValue else {
            throw AWSError.invalidResponse("SQS message attribute '\(name)' has no DataType")
        }
        dataType = type
        if type.hasPrefix("Binary") {
            guard let text = json["BinaryValue"]?.stringValue, let bytes = try? Base64.decode(text) else {
                throw AWSError.invalidResponse("SQS message attribute '\(name)' has no readable BinaryValue")
            }
            value = .binary(bytes)
        } else {
            guard let text = json["StringValue"]?.stringValue else {
                throw AWSError.invalidResponse("SQS message attribute '\(name)' has no StringValue")
            }
            value = type.hasPrefix("Number") ? .number(text) : .string(text)
        }
    }
}

/// One message of a SendMessageBatch (also how SendMessage builds its input).
package struct SQSSendEntry: Sendable, Hashable {
    /// Unique within the batch: 1-80 letters, digits, `-` and `_`.
    package var id: String
    package var body: String
    package var delaySeconds: Int?
    package var attributes: [String: SQSMessageAttribute]
    package var messageGroupId: String?
    package var deduplicationId: String?

    package init(
        id: String, body: String, delaySeconds: Int? = nil, attributes: [String: SQSMessageAttribute] = [:],
        messageGroupId: String? = nil, deduplicationId: String? = nil
    ) {
        self.id = id
        self.body = body
        self.delaySeconds = delaySeconds
        self.attributes = attributes
        self.messageGroupId = messageGroupId
        self.deduplicationId = deduplicationId
    }

    func json(includeId: Bool) throws(AWSError) -> JSONObject {
        guard !body.isEmpty else { throw AWSError.invalidRequest("an SQS message body must not be empty") }
        var object = JSONObject()
        if includeId { object.append("Id", .string(id)) }
        object.append("MessageBody", .string(body))
        // The delay's range (0-900 s) is left to SQS, which fails just that entry of a batch.
        if let delaySeconds { object.append("DelaySeconds", .number(delaySeconds)) }
        if !attributes.isEmpty {
            var map = JSONObject()
            for (name, attribute) in attributes.sorted(by: { $0.key < $1.key }) { map.append(name, attribute.json) }
            object.append("MessageAttributes", .object(map))
        }
        if let messageGroupId { object.append("MessageGroupId", .string(messageGroupId)) }
        if let deduplicationId { object.append("MessageDeduplicationId", .string(deduplicationId)) }
        return object
    }
}

/// What SQS answers for a sent message.
package struct SQSSendResult: Sendable, Hashable {
    /// The batch entry id (`"0"` for SendMessage).
    package var id: String
    package var messageId: String
    package var md5OfMessageBody: String?
    /// FIFO queues only.
    package var sequenceNumber: String?

    init(_ json: JSON, id: String) throws(AWSError) {
        guard let messageId = json["MessageId"]?.stringValue else {
            throw AWSError.invalidResponse("SQS answered a send without MessageId")
        }
        self.id = id
        self.messageId = messageId
        md5OfMessageBody = json["MD5OfMessageBody"]?.stringValue
        sequenceNumber = json["SequenceNumber"]?.stringValue
    }
}

/// A batch entry SQS refused.
package struct SQSBatchFailure: Sendable, Hashable {
    package var id: String
    /// The error code (`InvalidParameterValue`, `ReceiptHandleIsInvalid`, …).
    package var code: String
    package var message: String
    /// Whether the request was at fault (retrying it unchanged will fail again). Read from a JSON
    /// boolean or, as moto sends it for SendMessageBatch, the string `"true"`.
    package var senderFault: Bool

    static func list(_ output: JSON) throws(AWSError) -> [SQSBatchFailure] {
        var failures: [SQSBatchFailure] = []
        for item in output["Failed"]?.arrayValue ?? [] {
            guard let id = item["Id"]?.stringValue, let code = item["Code"]?.stringValue else {
                throw AWSError.invalidResponse("SQS answered a batch failure without Id or Code")
            }
            failures.append(
                SQSBatchFailure(
                    id: id, code: code, message: item["Message"]?.stringValue ?? "", senderFault: item["SenderFault"]?.boolValue ?? (item["SenderFault"]?.stringValue == "true")))
        }
        return failures
    }
}

/// The per-entry outcome of a batch call.
package struct SQSBatchResult<Success: Sendable & Hashable>: Sendable, Hashable {
    package var successful: [Success]
    package var failed: [SQSBatchFailure]
    package var allSucceeded: Bool { failed.isEmpty }
}

/// A received message.
package struct SQSMessage: Sendable, Hashable {
    package var messageId: String
    /// Pass to DeleteMessage or ChangeMessageVisibility.
    package var receiptHandle: String
    package var body: String
    package var md5OfBody: String?
    /// System attributes asked for (`ApproximateReceiveCount`, `SentTimestamp`, `MessageGroupId`…).
    package var attributes: [String: String]
    package var messageAttributes: [String: SQSMessageAttribute]

    init(_ json: JSON) throws(AWSError) {
        guard let id = json["MessageId"]?.stringValue, let handle = json["ReceiptHandle"]?.stringValue,
            let body = json["Body"]?.stringValue
        else { throw AWSError.invalidResponse("SQS answered with a message without MessageId, ReceiptHandle or Body") }
        messageId = id
        receiptHandle = handle
        self.body = body
        md5OfBody = json["MD5OfBody"]?.stringValue
        attributes = SQSClient.stringMap(json["Attributes"])
        var messageAttributes: [String: SQSMessageAttribute] = [:]
        for member in json["MessageAttributes"]?.objectValue ?? JSONObject() {
            messageAttributes[member.key] = try SQSMessageAttribute(json: member.value, name: member.key)
        }
        self.messageAttributes = messageAttributes
    }

    /// `ApproximateReceiveCount` as a number, when it was asked for.
    package var receiveCount: Int? { attributes["ApproximateReceiveCount"].flatMap { Int($0) } }
    /// `SentTimestamp` (milliseconds since the epoch), when it was asked for.
    package var sentTimestamp: Timestamp? {
        attributes["SentTimestamp"].flatMap { Int64($0) }.map { Timestamp(millisecondsSinceEpoch: $0) }
    }
}

extension AWSError {
    /// Whether SQS said the queue does not exist (`QueueDoesNotExist`, or the query protocol's
    /// `AWS.SimpleQueueService.NonExistentQueue`).
    package var isSQSQueueDoesNotExist: Bool {
        serviceCode == "QueueDoesNotExist" || serviceCode == "AWS.SimpleQueueService.NonExistentQueue"
    }
}
