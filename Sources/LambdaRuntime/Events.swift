package import JSONCodec
package import Primitives

/// An SQS event as Lambda delivers it.
package struct SQSEvent: Sendable, Hashable {
    package var records: [SQSRecord]

    package init(records: [SQSRecord]) { self.records = records }

    /// Parses the event JSON.
    /// - Throws: `LambdaRuntimeError` `.malformedEvent` when the bytes are not JSON or lack `Records`.
    package init(bytes: some Collection<UInt8>) throws(LambdaRuntimeError) {
        let json: JSON
        do {
            json = try JSONParser.parse(bytes)
        } catch {
            throw LambdaRuntimeError(.malformedEvent, "the event is not JSON: \(error)")
        }
        try self.init(json: json)
    }

    package init(json: JSON) throws(LambdaRuntimeError) {
        guard let list = json["Records"]?.arrayValue else {
            throw LambdaRuntimeError(.malformedEvent, "the event has no Records array (is it an SQS event?)")
        }
        var records: [SQSRecord] = []
        records.reserveCapacity(list.count)
        for (index, item) in list.enumerated() {
            records.append(try SQSRecord(json: item, index: index))
        }
        self.records = records
    }
}

/// One SQS message in an SQS event.
package struct SQSRecord: Sendable, Hashable {
    package var messageId: String
    package var receiptHandle: String
    package var body: String
    /// System attributes: `ApproximateReceiveCount`, `SentTimestamp`, `MessageGroupId`, …
    package var attributes: [String: String]
    /// User attributes, kept as JSON (`{"stringValue":…,"dataType":…}`).
    package var messageAttributes: JSONObject
    package var eventSourceARN: String
    package var awsRegion: String
    package var md5OfBody: String?

    package init(
        messageId: String, receiptHandle: String = "", body: String, attributes: [String: String] = [:],
        messageAttributes: JSONObject = [:], eventSourceARN: String = "", awsRegion: String = "", md5OfBody: String? = nil
    ) {
        self.messageId = messageId
        self.receiptHandle = receiptHandle
        self.body = body
        self.attributes = attributes
        self.messageAttributes = messageAttributes
        self.eventSourceARN = eventSourceARN
        self.awsRegion = awsRegion
        self.md5OfBody = md5OfBody
    }

    init(json: JSON, index: Int) throws(LambdaRuntimeError) {
        guard case .object(let object) = json else {
            throw LambdaRuntimeError(.malformedEvent, "Records[\(index)] is a \(json.kindName), not an object")
        }
        guard let messageId = object["messageId"]?.stringValue, !messageId.isEmpty else {
            throw LambdaRuntimeError(.malformedEvent, "Records[\(index)] has no messageId")
        }
        guard let body = object["body"]?.stringValue else {
            throw LambdaRuntimeError(.malformedEvent, "Records[\(index)] (\(messageId)) has no string body")
        }
        var attributes: [String: String] = [:]
        for member in object["attributes"]?.objectValue ?? [:] {
            if let text = member.value.stringValue { attributes[member.key] = text }
        }
        self.init(
            messageId: messageId,
            receiptHandle: object["receiptHandle"]?.stringValue ?? "",
            body: body,
            attributes: attributes,
            messageAttributes: object["messageAttributes"]?.objectValue ?? [:],
            eventSourceARN: object["eventSourceARN"]?.stringValue ?? "",
            awsRegion: object["awsRegion"]?.stringValue ?? "",
            md5OfBody: object["md5OfBody"]?.stringValue
        )
    }

    /// `ApproximateReceiveCount` as a number.
    package var approximateReceiveCount: Int? { attributes["ApproximateReceiveCount"].flatMap { Int($0) } }
    /// The FIFO message group, if any.
    package var messageGroupId: String? { attributes["MessageGroupId"] }
    /// When the message was sent.
    package var sentTimestamp: Timestamp? {
        attributes["SentTimestamp"].flatMap { Int64($0) }.map { Timestamp(millisecondsSinceEpoch: $0) }
    }
    /// Whether the message came from a FIFO queue.
    package var isFIFO: Bool { eventSourceARN.hasSuffix(".fifo") || messageGroupId != nil }
}

// MARK: - S3 notifications

/// One record of an S3 event notification, with the object key already decoded.
package struct S3EventRecord: Sendable, Hashable {
    package var eventName: String
    package var eventTime: Timestamp?
    package var awsRegion: String
    package var bucketName: String
    package var bucketArn: String
    /// The object key, form-URL-decoded (`+` is a space, then percent-decoding).
    package var key: String
    /// The key exactly as it arrived.
    package var encodedKey: String
    package var size: Int64?
    package var eTag: String?
    package var versionId: String?
    package var sequencer: String?

    package init(
        eventName: String, eventTime: Timestamp? = nil, awsRegion: String = "", bucketName: String, bucketArn: String = "",
        key: String, encodedKey: String? = nil, size: Int64? = nil, eTag: String? = nil, versionId: String? = nil,
        sequencer: String? = nil
    ) {
        self.eventName = eventName
        self.eventTime = eventTime
        self.awsRegion = awsRegion
        self.bucketName = bucketName
        self.bucketArn = bucketArn
        self.key = key
        self.encodedKey = encodedKey ?? key
        self.size = size
        self.eTag = eTag
        self.versionId = versionId
        self.sequencer = sequencer
    }

    /// Whether this is an `ObjectCreated:*` event.
    package var isObjectCreated: Bool { eventName.hasPrefix("ObjectCreated:") || eventName.hasPrefix("s3:ObjectCreated:") }
}

/// What an SQS message body holds when S3 notifications are delivered through SQS.
package enum S3Notification: Sendable, Hashable {
    /// An event notification with one or more records.
    case records([S3EventRecord])
    /// The `s3:TestEvent` S3 sends once when the notification is configured.
    case testEvent(bucket: String?)

    /// Parses a message body.
    /// - Throws: `LambdaRuntimeError` `.unrecognisedMessage` when the body is not JSON, not an S3
    ///   notification, or a record lacks its bucket or key.
    package init(body: String) throws(LambdaRuntimeError) {
        let json: JSON
        do {
            json = try JSONParser.parse(body)
        } catch {
            throw LambdaRuntimeError(.unrecognisedMessage, "the message body is not JSON: \(error)")
        }
        guard case .object(let object) = json else {
            throw LambdaRuntimeError(.unrecognisedMessage, "the message body is a JSON \(json.kindName), not an S3 notification")
        }
        if object["Event"]?.stringValue == "s3:TestEvent" {
            self = .testEvent(bucket: object["Bucket"]?.stringValue)
            return
        }
        guard let list = object["Records"]?.arrayValue else {
            throw LambdaRuntimeError(
                .unrecognisedMessage, "the message body is neither an S3 notification (no Records) nor an s3:TestEvent")
        }
        guard !list.isEmpty else {
            throw LambdaRuntimeError(.unrecognisedMessage, "the S3 notification has an empty Records array")
        }
        var records: [S3EventRecord] = []
        for (index, item) in list.enumerated() {
            records.append(try Self.record(item, index: index))
        }
        self = .records(records)
    }

    private static func record(_ json: JSON, index: Int) throws(LambdaRuntimeError) -> S3EventRecord {
        guard let eventName = json["eventName"]?.stringValue else {
            throw LambdaRuntimeError(.unrecognisedMessage, "S3 record \(index) has no eventName")
        }
        guard let s3 = json["s3"], let bucket = s3["bucket"]?["name"]?.stringValue, !bucket.isEmpty else {
            throw LambdaRuntimeError(.unrecognisedMessage, "S3 record \(index) has no s3.bucket.name")
        }
        guard let object = s3["object"], let encodedKey = object["key"]?.stringValue else {
            throw LambdaRuntimeError(.unrecognisedMessage, "S3 record \(index) has no s3.object.key")
        }
        guard let key = PercentEncoding.decode(encodedKey, plusIsSpace: true) else {
            throw LambdaRuntimeError(.unrecognisedMessage, "S3 record \(index) has a malformed key encoding: \(encodedKey)")
        }
        return S3EventRecord(
            eventName: eventName,
            eventTime: json["eventTime"]?.stringValue.flatMap { Timestamp(iso8601: $0) },
            awsRegion: json["awsRegion"]?.stringValue ?? "",
            bucketName: bucket,
            bucketArn: s3["bucket"]?["arn"]?.stringValue ?? "",
            key: key,
            encodedKey: encodedKey,
            size: object["size"]?.int64Value,
            eTag: object["eTag"]?.stringValue,
            versionId: object["versionId"]?.stringValue,
            sequencer: object["sequencer"]?.stringValue
        )
    }
}

/// How every handler refuses an S3 event from a bucket other than the one it is configured for:
/// a warning carrying `code` and the bucket, the metric `metric`, and an acknowledgement without
/// reading or writing anything (the message is not retried: the event cannot become valid).
package enum ForeignBucket {
    package static let code = "ForeignBucket"
    package static let metric = "ForeignBucketEvents"
}
