import AWSClients
import TestSupport
import AWSSigV4
import AWSCore
import Foundation
import LambdaRuntime
import PipelineCore
import Primitives
import Testing

@Suite("Failed messages made visible again sooner, on moto's SQS (signature checking on)")
struct SQSMessageRedeliveryTests {
    static func context(_ logs: MemoryLogSink = MemoryLogSink()) -> LambdaContext {
        let now = SystemClock().now()
        return LambdaContext(
            requestId: "redelivery-test", deadline: Timestamp(nanosecondsSinceEpoch: now.nanosecondsSinceEpoch + 60_000_000_000),
            invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:ingest", logger: Logger(level: .debug, sink: logs),
            metrics: MetricsRecorder(namespace: "Test", dimensions: [], sink: MemoryLogSink()))
    }

    /// Receives every visible message of `queue` (a few receives; moto answers at once).
    static func receiveAll(_ sqs: SQSClient, _ queue: String) async throws -> [SQSMessage] {
        var all: [SQSMessage] = []
        while true {
            let got = try await sqs.receiveMessages(queueURL: queue, maxMessages: 10)
            if got.isEmpty { return all }
            all += got
        }
    }

    @Test("Twelve received messages: those asked back at once are visible again at once (two batch requests), the one asked in 1 h is not")
    func redeliveredAtOnce() async throws {
        let clients = try await Moto.clients()
        let queue = try await clients.sqs.createQueue(name: Moto.unique("redeliver"), attributes: ["VisibilityTimeout": "600"])
        let arn = try #require(try await clients.sqs.getQueueAttributes(queueURL: queue, names: ["QueueArn"])["QueueArn"])
        for n in 0..<12 { _ = try await clients.sqs.sendMessage(queueURL: queue, body: "message \(n)") }
        let received = try await Self.receiveAll(clients.sqs, queue)
        #expect(received.count == 12)
        #expect(try await Self.receiveAll(clients.sqs, queue).isEmpty)

        let records = received.map {
            SQSRecord(messageId: $0.messageId, receiptHandle: $0.receiptHandle, body: $0.body, eventSourceARN: arn, awsRegion: "us-east-1")
        }
        let later = try #require(records.first { $0.body == "message 5" })
        let logs = MemoryLogSink()
        let context = Self.context(logs)
        await SQSMessageRedelivery(sqs: clients.sqs).redeliver(
            records.map { ($0, $0.messageId == later.messageId ? Duration.seconds(3600) : .zero) }, context: context)
        let again = try await Self.receiveAll(clients.sqs, queue)
        #expect(Set(again.map(\.body)) == Set((0..<12).filter { $0 != 5 }.map { "message \($0)" }))
        #expect(logs.lines.contains { $0.contains("come back sooner") && $0.contains(#""messages":12"#) })
        #expect(context.metrics.pendingMetrics.first { $0.name == "RedeliveriesSooner" }?.values.reduce(0, +) == 12)
    }

    @Test("Under the template's ingest role: its own queue's messages come back sooner; another queue's are refused, logged, left alone")
    func underTheIngestRole() async throws {
        let clients = try await Moto.clients()
        var queues: [(url: String, arn: String, record: SQSRecord)] = []
        for name in ["own", "other"] {
            let url = try await clients.sqs.createQueue(name: Moto.unique(name), attributes: ["VisibilityTimeout": "600"])
            let arn = try #require(try await clients.sqs.getQueueAttributes(queueURL: url, names: ["QueueArn"])["QueueArn"])
            _ = try await clients.sqs.sendMessage(queueURL: url, body: name)
            let message = try #require(try await clients.sqs.receiveMessages(queueURL: url).first)
            queues.append((url, arn, SQSRecord(messageId: message.messageId, receiptHandle: message.receiptHandle, body: name, eventSourceARN: arn)))
        }
        let moto = try await SharedMoto.get()
        let user = try await RoleUser.make(
            in: moto, role: "IngestFunctionRole", buckets: ["IngestBucket": Moto.unique("unused")], queues: ["IngestQueue"],
            queueARNs: ["IngestQueue": queues[0].arn])
        #expect(user.actions.contains("sqs:ChangeMessageVisibility"))
        let settings = try AWSSettings(environment: Environment(moto.environment))
        let role = try PipelineClients.make(
            settings: settings,
            credentials: StaticCredentialProvider(user.credentials),
            transport: Moto.transport)
        let logs = MemoryLogSink()
        await SQSMessageRedelivery(sqs: role.sqs).redeliver([(queues[0].record, .zero), (queues[1].record, .zero)], context: Self.context(logs))
        #expect(try await Self.receiveAll(clients.sqs, queues[0].url).map(\.body) == ["own"], "\(logs.lines)")
        #expect(try await Self.receiveAll(clients.sqs, queues[1].url).isEmpty)
        #expect(logs.lines.contains { $0.contains("visible sooner failed") && $0.contains("AccessDenied") })
    }

    @Test("A record whose eventSourceARN is not a queue's: logged, nothing thrown, the message waits out its timeout")
    func notAQueue() async throws {
        let clients = try await Moto.clients()
        let logs = MemoryLogSink()
        let record = SQSRecord(messageId: "m1", receiptHandle: "r", body: "b", eventSourceARN: "arn:aws:s3:::not-a-queue")
        await SQSMessageRedelivery(sqs: clients.sqs).redeliver([(record, .zero)], context: Self.context(logs))
        #expect(logs.lines.contains { $0.contains("visible sooner failed") && $0.contains("not an SQS queue ARN") })
    }

    @Test("Visibility in whole seconds, rounded up, within SQS's 0 s to 12 h; queue URLs from ARNs; a held claim comes back after it")
    func arithmetic() async throws {
        let sqs = try await Moto.clients().sqs
        let endpoint = sqs.client.endpoint.baseURL
        #expect(sqs.queueURL(ofARN: "arn:aws:sqs:eu-west-2:123456789012:ingest-queue") == "\(endpoint)/123456789012/ingest-queue")
        #expect(sqs.queueURL(ofARN: "arn:aws:sqs:eu-west-2::q") == nil)
        #expect(sqs.queueURL(ofARN: "ingest-queue") == nil)
        #expect(sqs.queueURL(ofARN: "arn:aws:s3:::bucket") == nil)
        #expect(SQSMessageRedelivery.seconds(.zero) == 0)
        #expect(SQSMessageRedelivery.seconds(.milliseconds(1)) == 1)
        #expect(SQSMessageRedelivery.seconds(.milliseconds(2000)) == 2)
        #expect(SQSMessageRedelivery.seconds(.seconds(-5)) == 0)
        #expect(SQSMessageRedelivery.seconds(.seconds(100_000)) == 43_200)

        let now = Timestamp(secondsSinceEpoch: 1_800_000_000)
        let held = PipelineCoreError.claimHeld(key: "in/a/b.jsonl", until: now.adding(milliseconds: 90_000), now: now)
        #expect(held.code == .claimHeld && held.redeliverAfter == .milliseconds(91_000))
        #expect(PipelineCoreError.claimHeld(key: "k", until: now.adding(milliseconds: -5), now: now).redeliverAfter == .seconds(1))
        #expect(PipelineCoreError.claimHeld(key: "k", until: nil, now: now).redeliverAfter == nil)
    }
}
