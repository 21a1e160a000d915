package import AWSCore
import AWSSigV4
package import HTTPTransport
package import JSONCodec
package import Primitives

/// An SQS client on the JSON 1.0 protocol (`X-Amz-Target: AmazonSQS.<Op>`). Every request goes to
/// the configured endpoint with the queue URL in the body, as botocore does.
package struct SQSClient: AWSServiceClient {
    package let client: AWSClient

    package static let service = AWSService.sqs

    /// - Parameter client: an `AWSClient` for `.sqs`.
    package init(client: AWSClient) {
        Self.requireService(of: client)
        self.client = client
    }

    /// The most messages one batch call takes.
    package static let maxBatchEntries = 10

    /// Sends one JSON 1.0 call and returns the parsed answer (an empty object for an empty body).
    package func call(_ operation: String, _ input: JSONObject, options: HTTPRequestOptions? = nil) async throws(AWSError) -> JSON {
        let request = AWSRequest(
            method: "POST", path: "/",
            headers: ["Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.\(operation)"],
            body: .bytes(JSON.object(input).bytes), options: options)
        let response = try await client.send(request)
        if response.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return .object(JSONObject()) }
        do {
            let json = try JSONParser.parse(response.body)
            guard json.objectValue != nil else { throw AWSError.invalidResponse("SQS \(operation) answered with a JSON \(json.kindName), not an object") }
            return json
        } catch let error as JSONError {
            throw AWSError.invalidResponse("SQS \(operation) answered with unreadable JSON: \(error)")
        } catch let error as AWSError {
            throw error
        } catch {
            throw AWSError.invalidResponse("SQS \(operation): \(error)")
        }
    }

    // MARK: Messages

    /// SendMessage.
    /// - Parameters:
    ///   - delaySeconds: 0 ... 900 (standard queues only).
    ///   - messageGroupId / deduplicationId: FIFO queues.
    package func sendMessage(
        queueURL: String, body: String, delaySeconds: Int? = nil, attributes: [String: SQSMessageAttribute] = [:],
        messageGroupId: String? = nil, deduplicationId: String? = nil
    ) async throws(AWSError) -> SQSSendResult {
        let entry = SQSSendEntry(
            id: "0", body: body, delaySeconds: delaySeconds, attributes: attributes, messageGroupId: messageGroupId,
            deduplicationId: deduplicationId)
        var input = try entry.json(includeId: false)
        input.members.insert(JSONObject.Member(key: "QueueUrl", value: .string(queueURL)), at: 0)
        let output = try await call("SendMessage", input)
        let result = try SQSSendResult(output, id: "0")
        try Self.checkBodyDigest(result.md5OfMessageBody, body: body, operation: "SendMessage")
        return result
    }

    /// SendMessageBatch: up to 10 entries; each entry's success or failure comes back typed.
    package func sendMessageBatch(queueURL: String, entries: [SQSSendEntry]) async throws(AWSError) -> SQSBatchResult<SQSSendResult> {
        try Self.validate(batch: entries.map(\.id))
        var list: [JSON] = []
        for entry in entries { list.append(.object(try entry.json(includeId: true))) }
        let output = try await call("SendMessageBatch", ["QueueUrl": .string(queueURL), "Entries": .array(list)])
        var successful: [SQSSendResult] = []
        for item in output["Successful"]?.arrayValue ?? [] {
            guard let id = item["Id"]?.stringValue else { throw AWSError.invalidResponse("SQS SendMessageBatch: an entry without Id") }
            let result = try SQSSendResult(item, id: id)
            if let entry = entries.first(where: { $0.id == id }) {
                try Self.checkBodyDigest(result.md5OfMessageBody, body: entry.body, operation: "SendMessageBatch")
            }
            successful.append(result)
        }
        return SQSBatchResult(successful: successful, failed: try SQSBatchFailure.list(output))
    }

    /// ReceiveMessage.
    ///
    /// - Parameters:
    ///   - maxMessages: 1 ... 10.
    ///   - waitTimeSeconds: 0 ... 20; a long poll. The HTTP total timeout is raised above the wait.
    ///   - visibilityTimeout: hide the received messages for this long instead of the queue's default.
    ///   - systemAttributes: `ApproximateReceiveCount`, `SentTimestamp`, `MessageGroupId`, … or `All`.
    ///   - messageAttributeNames: user attributes to return (`All` for every one).
    package func receiveMessages(
        queueURL: String, maxMessages: Int = 1, waitTimeSeconds: Int? = nil, visibilityTimeout: Int? = nil,
        systemAttributes: [String] = [], messageAttributeNames: [String] = []
    ) async throws(AWSError) -> [SQSMessage] {
        guard (1...10).contains(maxMessages) else { throw AWSError.invalidRequest("ReceiveMessage takes 1 to 10 messages (got \(maxMessages))") }
        var input: JSONObject = ["QueueUrl": .string(queueURL), "MaxNumberOfMessages": .number(maxMessages)]
        var options: HTTPRequestOptions?
        if let waitTimeSeconds {
            guard (0...20).contains(waitTimeSeconds) else {
                throw AWSError.invalidRequest("a long poll waits 0 to 20 seconds (got \(waitTimeSeconds))")
            }
            input.append("WaitTimeSeconds", .number(waitTimeSeconds))
            var limits = client.options
            // The server holds the request for up to the wait: allow that plus a margin, and do
            // not let the low-speed check (no bytes while the server waits) cut it off.
            limits.totalTimeout = .seconds(waitTimeSeconds + 30)
            limits.lowSpeedBytesPerSecond = nil
            limits.lowSpeedTime = nil
            options = limits
        }
        if let visibilityTimeout { input.append("VisibilityTimeout", .number(visibilityTimeout)) }
        if !systemAttributes.isEmpty {
            let names = JSON.array(systemAttributes.map(JSON.string))
            input.append("MessageSystemAttributeNames", names)
            input.append("AttributeNames", names)
        }
        if !messageAttributeNames.isEmpty { input.append("MessageAttributeNames", .array(messageAttributeNames.map(JSON.string))) }
        let output = try await call("ReceiveMessage", input, options: options)
        var messages: [SQSMessage] = []
        for item in output["Messages"]?.arrayValue ?? [] {
            let message = try SQSMessage(item)
            try Self.checkBodyDigest(message.md5OfBody, body: message.body, operation: "ReceiveMessage")
            messages.append(message)
        }
        return messages
    }

    /// DeleteMessage.
    package func deleteMessage(queueURL: String, receiptHandle: String) async throws(AWSError) {
        _ = try await call("DeleteMessage", ["QueueUrl": .string(queueURL), "ReceiptHandle": .string(receiptHandle)])
    }

    /// DeleteMessageBatch: entries are `(id, receiptHandle)`; each outcome comes back typed.
    package func deleteMessageBatch(queueURL: String, entries: [(id: String, receiptHandle: String)])
        async throws(AWSError) -> SQSBatchResult<String>
    {
        try Self.validate(batch: entries.map(\.id))
        let list = entries.map { JSON.object(["Id": .string($0.id), "ReceiptHandle": .string($0.receiptHandle)]) }
        let output = try await call("DeleteMessageBatch", ["QueueUrl": .string(queueURL), "Entries": .array(list)])
        return SQSBatchResult(
            successful: (output["Successful"]?.arrayValue ?? []).compactMap { $0["Id"]?.stringValue },
            failed: try SQSBatchFailure.list(output))
    }

    /// ChangeMessageVisibility: hide (or, with 0, release) a received message.
    package func changeMessageVisibility(queueURL: String, receiptHandle: String, visibilityTimeout: Int) async throws(AWSError) {
        _ = try await call(
            "ChangeMessageVisibility",
            ["QueueUrl": .string(queueURL), "ReceiptHandle": .string(receiptHandle), "VisibilityTimeout": .number(visibilityTimeout)])
    }

    /// ChangeMessageVisibilityBatch: entries are `(id, receiptHandle, visibilityTimeout)`.
    package func changeMessageVisibilityBatch(
        queueURL: String, entries: [(id: String, receiptHandle: String, visibilityTimeout: Int)]
    ) async throws(AWSError) -> SQSBatchResult<String> {
        try Self.validate(batch: entries.map(\.id))
        let list = entries.map {
            JSON.object(["Id": .string($0.id), "ReceiptHandle": .string($0.receiptHandle), "VisibilityTimeout": .number($0.visibilityTimeout)])
        }
        let output = try await call("ChangeMessageVisibilityBatch", ["QueueUrl": .string(queueURL), "Entries": .array(list)])
        return SQSBatchResult(
            successful: (output["Successful"]?.arrayValue ?? []).compactMap { $0["Id"]?.stringValue },
            failed: try SQSBatchFailure.list(output))
    }

    // MARK: Queues

    /// The queue `arn:<partition>:sqs:<region>:<account>:<name>` as a queue URL on this client's
    /// endpoint (`<endpoint>/<account>/<name>`, the form GetQueueUrl answers), without a request
    /// or the `sqs:GetQueueUrl` permission; `nil` when `arn` is not an SQS queue's.
    package func queueURL(ofARN arn: String) -> String? {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "sqs", !parts[4].isEmpty, !parts[5].isEmpty else { return nil }
        return "\(client.endpoint.baseURL)/\(parts[4])/\(parts[5])"
    }

    /// GetQueueUrl.
    package func getQueueURL(name: String, ownerAccountId: String? = nil) async throws(AWSError) -> String {
        var input: JSONObject = ["QueueName": .string(name)]
        if let ownerAccountId { input.append("QueueOwnerAWSAccountId", .string(ownerAccountId)) }
        let output = try await call("GetQueueUrl", input)
        guard let url = output["QueueUrl"]?.stringValue else { throw AWSError.invalidResponse("SQS GetQueueUrl answered without QueueUrl") }
        return url
    }

    /// GetQueueAttributes (`All` by default).
    package func getQueueAttributes(queueURL: String, names: [String] = ["All"]) async throws(AWSError) -> [String: String] {
        let output = try await call(
            "GetQueueAttributes", ["QueueUrl": .string(queueURL), "AttributeNames": .array(names.map(JSON.string))])
        return Self.stringMap(output["Attributes"])
    }

    /// CreateQueue; attributes such as `VisibilityTimeout`, `RedrivePolicy`, `FifoQueue`,
    /// `ContentBasedDeduplication`, `MessageRetentionPeriod`. Returns the queue URL.
    package func createQueue(name: String, attributes: [String: String] = [:]) async throws(AWSError) -> String {
        var input: JSONObject = ["QueueName": .string(name)]
        if !attributes.isEmpty { input.append("Attributes", Self.jsonMap(attributes)) }
        let output = try await call("CreateQueue", input)
        guard let url = output["QueueUrl"]?.stringValue else { throw AWSError.invalidResponse("SQS CreateQueue answered without QueueUrl") }
        return url
    }

    /// SetQueueAttributes.
    package func setQueueAttributes(queueURL: String, attributes: [String: String]) async throws(AWSError) {
        _ = try await call("SetQueueAttributes", ["QueueUrl": .string(queueURL), "Attributes": Self.jsonMap(attributes)])
    }

    /// DeleteQueue.
    package func deleteQueue(queueURL: String) async throws(AWSError) {
        _ = try await call("DeleteQueue", ["QueueUrl": .string(queueURL)])
    }

    /// PurgeQueue.
    package func purgeQueue(queueURL: String) async throws(AWSError) {
        _ = try await call("PurgeQueue", ["QueueUrl": .string(queueURL)])
    }

    // MARK: Helpers

    static func validate(batch ids: [String]) throws(AWSError) {
        guard (1...maxBatchEntries).contains(ids.count) else {
            throw AWSError.invalidRequest("a batch holds 1 to \(maxBatchEntries) entries (got \(ids.count))")
        }
        guard Set(ids).count == ids.count else { throw AWSError.invalidRequest("batch entry ids must be distinct") }
        for id in ids {
            guard (1...80).contains(id.utf8.count),
                id.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 })
            else {
                throw AWSError.invalidRequest("batch entry id '\(id)' must be 1 to 80 letters, digits, hyphens or underscores")
            }
        }
    }

    /// SQS answers with the MD5 of the body it stored; a mismatch means the body was altered.
    static func checkBodyDigest(_ digest: String?, body: String, operation: String) throws(AWSError) {
        guard let digest else { return }
        let expected = Hex.encode(MD5.digest(Array(body.utf8)))
        guard digest.lowercased() == expected else {
            throw AWSError.invalidResponse("SQS \(operation): MD5 of the message body is \(digest), expected \(expected)")
        }
    }

    static func stringMap(_ json: JSON?) -> [String: String] {
        var map: [String: String] = [:]
        for member in json?.objectValue ?? JSONObject() {
            map[member.key] = member.value.stringValue ?? member.value.numberText ?? member.value.boolValue.map { String($0) }
        }
        return map
    }

    static func jsonMap(_ map: [String: String]) -> JSON {
        var object = JSONObject()
        for (key, value) in map.sorted(by: { $0.key < $1.key }) { object.append(key, .string(value)) }
        return .object(object)
    }
}
