import AWSClients
import Foundation
import JSONCodec
import TestSupport
import Testing

/// The real `ingest-lambda` binary, run with `--event` against moto and the stand-in.
@Suite("ingest-lambda as a process")
struct IngestLambdaProcessTests {
    static func binary() throws -> String {
        var directory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("ingest-lambda").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "build ingest-lambda with the tests' scratch path"])
    }

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

        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.binary())
        process.arguments = ["--event", eventFile.path, "--timeout", "120"]
        var environment = stack.environment
        environment["PATH"] = "/usr/bin:/bin"
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stdout = String(decoding: outData, as: UTF8.self)
        let stderr = String(decoding: errData, as: UTF8.self)

        #expect(process.terminationStatus == 0)
        let response = try JSONParser.parse(Array(outData))
        #expect(response["batchItemFailures"]?.arrayValue?.compactMap { $0["itemIdentifier"]?.stringValue } == ["m-1"], "\(stdout)")
        #expect(stderr.contains("file ingested"))
        #expect(stderr.contains("UnknownDataset"))
        #expect(!stderr.contains(stack.moto.secretAccessKey))
        #expect(try await stack.count("events-2024.05") == 120)
        #expect(try await stack.exists("processed/events/e2e.jsonl"))
        #expect(try await stack.exists("in/nosuch/x.jsonl"))
    }
}
