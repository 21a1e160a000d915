import AWSClients
import Foundation
import JSONCodec
import TestSupport
import Testing

/// The real `ingest-lambda` binary, run with `--event` against moto and the stand-in.
@Suite("ingest-lambda as a process")
struct IngestLambdaProcessTests {
    static func binary() throws -> String { try builtExecutable("ingest-lambda") }

    /// An SQS batch of S3 notifications, as Lambda hands it over.
    static func event(bucket: String, keys: [(key: String, etag: String?)]) -> [UInt8] {
        let records: [JSON] = keys.enumerated().map { index, object in
            var s3Object: JSONObject = ["key": .string(object.key.replacingOccurrences(of: "/", with: "%2F")), "size": 1]
            if let etag = object.etag { s3Object.append("eTag", .string(etag)) }
            let notification: JSON = [
                "Records": [
                    [
                        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventName": "ObjectCreated:Put",
                        "eventTime": "2024-05-01T10:00:00.000Z",
                        "s3": ["bucket": ["name": .string(bucket), "arn": .string("arn:aws:s3:::\(bucket)")], "object": .object(s3Object)],
                    ]
                ]
            ]
            return [
                "messageId": .string("m-\(index)"), "receiptHandle": "r", "body": .string(notification.text), "attributes": [:],
                "messageAttributes": [:], "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ingest",
                "awsRegion": "us-east-1",
            ]
        }
        return JSON.object(["Records": .array(records)]).bytes
    }

    @Test("--event: a good file is indexed and filed, a file of an unknown dataset fails only its record; no secret in the logs")
    func replay() async throws {
        let stack = try await IngestTestStack()
        let put = try await stack.s3.putObject(
            bucket: stack.bucket, key: "in/events/e2e.jsonl", body: IngestHandlerTests.eventLines(0..<120))
        try await stack.put("in/nosuch/x.jsonl", Array("{}\n".utf8))
        let eventFile = FileManager.default.temporaryDirectory.appendingPathComponent("ingest-event-\(UUID().uuidString).json")
        try Data(Self.event(bucket: stack.bucket, keys: [("in/events/e2e.jsonl", put.etag), ("in/nosuch/x.jsonl", nil)])).write(to: eventFile)
        defer { try? FileManager.default.removeItem(at: eventFile) }

        var environment = stack.environment
        environment["PATH"] = "/usr/bin:/bin"
        let child = try ChildProcess(try Self.binary(), arguments: ["--event", eventFile.path, "--timeout", "120"], environment: environment)
        let status = await child.wait(timeout: 180)
        let stdout = child.stdout
        let stderr = child.stderr

        #expect(status == 0)
        let response = try JSONParser.parse(Array(stdout.utf8))
        #expect(response["batchItemFailures"]?.arrayValue?.compactMap { $0["itemIdentifier"]?.stringValue } == ["m-1"], "\(stdout)")
        #expect(stderr.contains("file ingested"))
        #expect(stderr.contains("UnknownDataset"))
        #expect(!stderr.contains(stack.moto.secretAccessKey))
        #expect(try await stack.count("events-2024.05") == 120)
        #expect(try await stack.exists("processed/events/e2e.jsonl"))
        #expect(try await stack.exists("in/nosuch/x.jsonl"))
    }
}
