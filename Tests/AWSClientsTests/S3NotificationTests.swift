import AWSClients
import AWSCore
import JSONCodec
import Primitives
import Testing
import TestSupport

private typealias Env = S3SQSTestEnvironment

@Suite("S3 event notifications to SQS (moto with signature checking)")
struct S3NotificationTests {
    @Test("A put under the filtered prefix delivers ObjectCreated:Put with the key form-encoded; other prefixes deliver nothing")
    func objectCreatedReachesQueue() async throws {
        let s3 = try await Env.s3()
        let sqs = try await Env.sqs()
        let bucket = try await Env.bucket(s3, "s3notify")
        let queue = try await sqs.createQueue(name: Env.uniqueName("events"))
        let arn = try #require(try await sqs.getQueueAttributes(queueURL: queue, names: ["QueueArn"])["QueueArn"])
        try await s3.putBucketNotificationConfiguration(
            bucket: bucket,
            queues: [S3QueueNotification(id: "ingest", queueArn: arn, events: ["s3:ObjectCreated:*"], prefix: "in/", suffix: ".txt")])

        _ = try await s3.putObject(bucket: bucket, key: "other/skip.txt", body: [1])
        _ = try await s3.putObject(bucket: bucket, key: "in/skip.csv", body: [1])
        // (A space only: moto's checker rejects correctly signed keys holding "+"; see S3KeyEncodingTests.)
        _ = try await s3.putObject(bucket: bucket, key: "in/a b.txt", body: Array("hello".utf8))

        var records: [JSON] = []
        for _ in 0..<5 {
            let messages = try await sqs.receiveMessages(queueURL: queue, maxMessages: 10, waitTimeSeconds: 1)
            for message in messages {
                let event = try JSONParser.parse(message.body)
                records += event["Records"]?.arrayValue ?? []  // the s3:TestEvent has no Records
                try await sqs.deleteMessage(queueURL: queue, receiptHandle: message.receiptHandle)
            }
            if !records.isEmpty { break }
        }
        try #require(records.count == 1, "records: \(records)")
        let record = records[0]
        #expect(record["eventName"]?.stringValue == "ObjectCreated:Put")
        #expect(record["s3"]?["bucket"]?["name"]?.stringValue == bucket)
        let wireKey = try #require(record["s3"]?["object"]?["key"]?.stringValue)
        // Form-encoded: the space arrives as "+" (moto also encodes the "/" as %2F; AWS leaves it).
        #expect(wireKey == "in%2Fa+b.txt" || wireKey == "in/a+b.txt")
        #expect(PercentEncoding.decode(wireKey, plusIsSpace: true) == "in/a b.txt")
        #expect(record["s3"]?["object"]?["size"]?.intValue == 5)

        // Switching notifications off: nothing more arrives.
        try await s3.putBucketNotificationConfiguration(bucket: bucket, queues: [])
        _ = try await s3.putObject(bucket: bucket, key: "in/later.txt", body: [2])
        let later = try await sqs.receiveMessages(queueURL: queue, maxMessages: 10, waitTimeSeconds: 1)
        #expect(later.allSatisfy { (try? JSONParser.parse($0.body))?["Records"] == nil })
    }
}
