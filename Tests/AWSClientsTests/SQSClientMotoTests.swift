import AWSClients
import AWSCore
import Foundation
import JSONCodec
import Primitives
import Testing
import TestSupport

private typealias Env = S3SQSTestEnvironment

/// SQS calls against a real moto_server with SigV4 signature checking on.
@Suite("SQS against moto with signature checking")
struct SQSClientMotoTests {
    static func queue(_ sqs: SQSClient, _ prefix: String = "q", attributes: [String: String] = [:]) async throws -> String {
        try await sqs.createQueue(name: Env.uniqueName(prefix), attributes: attributes)
    }

    @Test("Send, receive with attributes, delete: the message is gone afterwards")
    func sendReceiveDelete() async throws {
        let sqs = try await Env.sqs()
        let url = try await Self.queue(sqs)
        let sent = try await sqs.sendMessage(
            queueURL: url, body: #"{"bucket":"b","key":"in/ä b.csv"}"#,
            attributes: ["kind": .string("s3-event"), "size": .number(1234), "blob": SQSMessageAttribute(.binary([0, 1, 2, 255]))])
        #expect(!sent.messageId.isEmpty)

        let messages = try await sqs.receiveMessages(
            queueURL: url, maxMessages: 10, waitTimeSeconds: 1, systemAttributes: ["All"], messageAttributeNames: ["All"])
        let message = try #require(messages.first)
        #expect(messages.count == 1)
        #expect(message.messageId == sent.messageId)
        #expect(message.body == #"{"bucket":"b","key":"in/ä b.csv"}"#)
        #expect(message.receiveCount == 1)
        #expect(message.sentTimestamp != nil)
        #expect(message.messageAttributes["kind"] == .string("s3-event"))
        #expect(message.messageAttributes["size"]?.stringValue == "1234")
        #expect(message.messageAttributes["size"]?.dataType == "Number")
        #expect(message.messageAttributes["blob"]?.value == .binary([0, 1, 2, 255]))

        try await sqs.deleteMessage(queueURL: url, receiptHandle: message.receiptHandle)
        try await sqs.setQueueAttributes(queueURL: url, attributes: ["VisibilityTimeout": "0"])
        #expect(try await sqs.receiveMessages(queueURL: url, waitTimeSeconds: 0).isEmpty)
    }

    @Test("A long poll waits for a message that arrives during the wait")
    func longPoll() async throws {
        let sqs = try await Env.sqs()
        let url = try await Self.queue(sqs)
        let clock = ContinuousClock()
        let start = clock.now
        let empty = try await sqs.receiveMessages(queueURL: url, waitTimeSeconds: 2)
        #expect(empty.isEmpty)
        #expect(start.duration(to: clock.now) >= .milliseconds(1_500))

        async let polled = sqs.receiveMessages(queueURL: url, waitTimeSeconds: 10)
        try await Task.sleep(for: .milliseconds(500))
        _ = try await sqs.sendMessage(queueURL: url, body: "late")
        #expect(try await polled.map(\.body) == ["late"])
    }

    @Test("SendMessageBatch reports each entry; a bad entry fails alone with its code")
    func batchPartialFailure() async throws {
        let sqs = try await Env.sqs()
        let url = try await Self.queue(sqs)
        let result = try await sqs.sendMessageBatch(
            queueURL: url,
            entries: [
                SQSSendEntry(id: "ok-1", body: "one"),
                // Past SQS's 900 s limit: this entry alone is refused.
                SQSSendEntry(id: "bad", body: "two", delaySeconds: 1_000),
                SQSSendEntry(id: "ok_2", body: "three", delaySeconds: 0),
            ])
        #expect(Set(result.successful.map(\.id)) == ["ok-1", "ok_2"])
        #expect(result.failed.map(\.id) == ["bad"])
        #expect(result.failed.first?.code.isEmpty == false)
        #expect(result.failed.first?.senderFault == true)
        #expect(!result.allSucceeded)

        let received = try await sqs.receiveMessages(queueURL: url, maxMessages: 10, waitTimeSeconds: 1)
        #expect(Set(received.map(\.body)) == ["one", "three"])
        let deleted = try await sqs.deleteMessageBatch(
            queueURL: url, entries: received.enumerated().map { (id: "m\($0.offset)", receiptHandle: $0.element.receiptHandle) }
                + [(id: "stale", receiptHandle: "not-a-receipt-handle")])
        #expect(Set(deleted.successful) == Set(received.indices.map { "m\($0)" }))
        #expect(deleted.failed.map(\.id) == ["stale"])
        #expect(deleted.failed.first?.code == "ReceiptHandleIsInvalid")
    }

    @Test("Visibility: a hidden message comes back after its timeout with a higher ApproximateReceiveCount")
    func visibilityAndReceiveCount() async throws {
        let sqs = try await Env.sqs()
        let url = try await Self.queue(sqs, attributes: ["VisibilityTimeout": "30"])
        _ = try await sqs.sendMessage(queueURL: url, body: "retry me")
        let first = try #require(
            try await sqs.receiveMessages(queueURL: url, waitTimeSeconds: 1, systemAttributes: ["ApproximateReceiveCount"]).first)
        #expect(first.receiveCount == 1)
        // Hidden for 30 s: nothing to receive now.
        #expect(try await sqs.receiveMessages(queueURL: url, waitTimeSeconds: 0).isEmpty)
        // Released early, as a handler that fails a record does.
        try await sqs.changeMessageVisibility(queueURL: url, receiptHandle: first.receiptHandle, visibilityTimeout: 0)
        let second = try #require(
            try await sqs.receiveMessages(
                queueURL: url, waitTimeSeconds: 1, visibilityTimeout: 1, systemAttributes: ["ApproximateReceiveCount"]
            ).first)
        #expect(second.messageId == first.messageId)
        #expect(second.receiveCount == 2)
        // The per-receive visibility of 1 s runs out on its own.
        try await Task.sleep(for: .milliseconds(1_300))
        let third = try #require(
            try await sqs.receiveMessages(queueURL: url, waitTimeSeconds: 2, systemAttributes: ["All"]).first)
        #expect(third.receiveCount == 3)
        let changed = try await sqs.changeMessageVisibilityBatch(
            queueURL: url,
            entries: [(id: "a", receiptHandle: third.receiptHandle, visibilityTimeout: 0), (id: "b", receiptHandle: "bogus", visibilityTimeout: 0)])
        #expect(changed.successful == ["a"])
        #expect(changed.failed.map(\.id) == ["b"])
    }

    @Test("FIFO queues keep group ids and sequence numbers, and deduplicate by id")
    func fifo() async throws {
        let sqs = try await Env.sqs()
        let url = try await sqs.createQueue(name: Env.uniqueName("fifo") + ".fifo", attributes: ["FifoQueue": "true"])
        let a = try await sqs.sendMessage(queueURL: url, body: "a1", messageGroupId: "dataset-a", deduplicationId: "a1")
        _ = try await sqs.sendMessage(queueURL: url, body: "b1", messageGroupId: "dataset-b", deduplicationId: "b1")
        _ = try await sqs.sendMessage(queueURL: url, body: "a1 again", messageGroupId: "dataset-a", deduplicationId: "a1")
        #expect(a.sequenceNumber != nil)
        let batch = try await sqs.sendMessageBatch(
            queueURL: url, entries: [SQSSendEntry(id: "a2", body: "a2", messageGroupId: "dataset-a", deduplicationId: "a2")])
        #expect(batch.allSucceeded)
        let messages = try await sqs.receiveMessages(
            queueURL: url, maxMessages: 10, waitTimeSeconds: 1, systemAttributes: ["MessageGroupId", "SequenceNumber"])
        #expect(messages.map(\.body).filter { $0.hasPrefix("a") } == ["a1", "a2"])
        #expect(messages.contains { $0.body == "b1" && $0.attributes["MessageGroupId"] == "dataset-b" })
        #expect(!messages.contains { $0.body == "a1 again" })
        #expect(messages.allSatisfy { $0.attributes["MessageGroupId"] != nil })
    }

    @Test("Queue administration: URL by name, attributes with a redrive policy, purge, delete")
    func queueAdministration() async throws {
        let sqs = try await Env.sqs()
        let deadLetterName = Env.uniqueName("dlq")
        let deadLetter = try await sqs.createQueue(name: deadLetterName)
        let deadLetterArn = try #require(try await sqs.getQueueAttributes(queueURL: deadLetter, names: ["QueueArn"])["QueueArn"])
        let name = Env.uniqueName("main")
        let url = try await sqs.createQueue(
            name: name,
            attributes: [
                "VisibilityTimeout": "45",
                "RedrivePolicy": JSON.object(["deadLetterTargetArn": .string(deadLetterArn), "maxReceiveCount": .string("3")]).text,
            ])
        #expect(try await sqs.getQueueURL(name: name) == url)
        let attributes = try await sqs.getQueueAttributes(queueURL: url)
        #expect(attributes["VisibilityTimeout"] == "45")
        let redrive = try JSONParser.parse(try #require(attributes["RedrivePolicy"]))
        #expect(redrive["deadLetterTargetArn"]?.stringValue == deadLetterArn)

        _ = try await sqs.sendMessage(queueURL: url, body: "x")
        try await sqs.purgeQueue(queueURL: url)
        #expect(try await sqs.receiveMessages(queueURL: url, waitTimeSeconds: 0).isEmpty)
        try await sqs.deleteQueue(queueURL: url)
        let gone = await #expect(throws: AWSError.self) { try await sqs.getQueueURL(name: name) }
        #expect(gone?.isSQSQueueDoesNotExist == true, "\(String(describing: gone))")
        let missing = await #expect(throws: AWSError.self) {
            try await sqs.sendMessage(queueURL: url, body: "to nowhere")
        }
        #expect(missing?.isSQSQueueDoesNotExist == true, "\(String(describing: missing))")
    }

    @Test("Bad input is refused before sending")
    func badInput() async throws {
        let sqs = try await Env.sqs()
        await expectInvalidRequest { () async throws(AWSError) in _ = try await sqs.sendMessage(queueURL: "q", body: "") }
        await expectInvalidRequest { () async throws(AWSError) in _ = try await sqs.receiveMessages(queueURL: "q", maxMessages: 11) }
        await expectInvalidRequest { () async throws(AWSError) in _ = try await sqs.receiveMessages(queueURL: "q", waitTimeSeconds: 21) }
        await expectInvalidRequest { () async throws(AWSError) in _ = try await sqs.sendMessageBatch(queueURL: "q", entries: []) }
        await expectInvalidRequest { () async throws(AWSError) in
            _ = try await sqs.sendMessageBatch(queueURL: "q", entries: [SQSSendEntry(id: "same", body: "a"), SQSSendEntry(id: "same", body: "b")])
        }
        await expectInvalidRequest { () async throws(AWSError) in
            _ = try await sqs.deleteMessageBatch(queueURL: "q", entries: [(id: "has space", receiptHandle: "r")])
        }
    }

    @Test("A tampered secret is SignatureDoesNotMatch and an unknown key InvalidClientTokenId, both typed")
    func rejectedSignatures() async throws {
        let stack = try await SharedMoto.get()
        let url = try await Self.queue(try await Env.sqs())
        let tampered = try await Env.sqs(secret: stack.secretAccessKey + "x")
        let error = await #expect(throws: AWSError.self) { try await tampered.sendMessage(queueURL: url, body: "x") }
        #expect(error?.serviceCode == "SignatureDoesNotMatch", "\(String(describing: error))")
        #expect(!String(describing: error).contains(stack.secretAccessKey))
        let unknown = try await Env.sqs(accessKeyId: "AKIDUNKNOWN000000000")
        let unknownError = await #expect(throws: AWSError.self) { try await unknown.getQueueAttributes(queueURL: url) }
        #expect(unknownError?.serviceCode == "InvalidClientTokenId", "\(String(describing: unknownError))")
    }
}
