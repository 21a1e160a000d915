import JSONCodec
import LambdaRuntime
import Primitives
import Testing

@Suite("SQS and S3 event parsing")
struct EventTests {
    @Test("The Powertools SQS-of-S3 sample parses into its record and S3 object")
    func powertoolsSample() throws {
        let event = try SQSEvent(bytes: try fixture("s3-sqs-event.json"))
        #expect(event.records.count == 1)
        let record = try #require(event.records.first)
        #expect(record.messageId == "ca3e7a89-c358-40e5-8aa0-5da01403c267")
        #expect(record.approximateReceiveCount == 1)
        #expect(record.sentTimestamp == Timestamp(millisecondsSinceEpoch: 1_681_332_219_270))
        #expect(record.attributes["SenderId"] == "AIDAJHIPRHEMV73VRJEBU")
        #expect(record.eventSourceARN == "arn:aws:sqs:us-east-1:123456789012:SQS")
        #expect(record.awsRegion == "us-east-1")
        #expect(!record.isFIFO)
        guard case .records(let objects) = try S3Notification(body: record.body) else {
            Issue.record("expected S3 records")
            return
        }
        #expect(objects.count == 1)
        let object = objects[0]
        #expect(object.eventName == "ObjectCreated:Put")
        #expect(object.isObjectCreated)
        #expect(object.bucketName == "xxx")
        #expect(object.bucketArn == "arn:aws:s3:::xxx")
        #expect(object.key == "test.pdf")
        #expect(object.size == 104_681)
        #expect(object.eTag == "2e3ad1e983318bbd8e73b080e2997980")
        #expect(object.versionId == "yd3d4HaWOT2zguDLvIQLU6ptDTwKBnQV")
        #expect(object.sequencer == "00643717F9F8B85354")
        #expect(object.eventTime == Timestamp(iso8601: "2023-04-12T20:43:38.021Z"))
    }

    @Test("The s3:TestEvent body is recognised as a test event")
    func testEvent() throws {
        let body = String(decoding: try fixture("s3-test-event-body.json"), as: UTF8.self)
        #expect(try S3Notification(body: body) == .testEvent(bucket: "bucketname"))
    }

    @Test("Several S3 records in one body keep their order; eTag, versionId and sequencer may be absent")
    func severalRecords() throws {
        let event = try SQSEvent(bytes: try fixture("sqs-multi-record-body.json"))
        guard case .records(let objects) = try S3Notification(body: event.records[0].body) else {
            Issue.record("expected S3 records")
            return
        }
        #expect(objects.map(\.key) == ["received_files/orders-2024-05-24.csv", "received_files/big-extract.parquet", "received_files/old.csv"])
        #expect(objects[0].eTag == "9b2cf535f27731c974343645a3985328")
        #expect(objects[0].versionId == nil)
        #expect(objects[0].sequencer == "0066506A1B2C3D4E5F")
        #expect(objects[1].eTag == nil && objects[1].versionId == nil && objects[1].sequencer == nil)
        #expect(objects[1].size == 73_400_320)
        #expect(objects.map(\.isObjectCreated) == [true, true, false])
    }

    @Test("Keys are form-URL-decoded: + is a space, %2B a plus, then UTF-8 percent-decoding")
    func encodedKeys() throws {
        let event = try SQSEvent(bytes: try fixture("sqs-encoded-keys.json"))
        guard case .records(let objects) = try S3Notification(body: event.records[0].body) else {
            Issue.record("expected S3 records")
            return
        }
        #expect(objects.map(\.key) == ["reports/2024 Q1 sales.csv", "a+b.csv", "in/café menu (1).txt"])
        #expect(objects.map(\.encodedKey) == ["reports/2024+Q1+sales.csv", "a%2Bb.csv", "in%2Fcaf%C3%A9+menu+%281%29.txt"])
    }

    @Test("FIFO records expose their message group")
    func fifo() throws {
        let event = try SQSEvent(bytes: try fixture("sqs-fifo-batch.json"))
        #expect(event.records.allSatisfy { $0.isFIFO })
        #expect(event.records.map { $0.messageGroupId ?? "" } == ["tenant-a", "tenant-a", "tenant-b", "tenant-a", "tenant-b"])
    }

    @Test(
        "A body that is not an S3 notification is an UnrecognisedMessage error",
        arguments: [
            "this is not JSON {", #"["an","array"]"#, #"{"hello":"world"}"#, #"{"Records":[]}"#,
            #"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"}}}]}"#,
            #"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"bad%ZZ"}}}]}"#,
            #"{"Records":[{"s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}"#,
        ])
    func unrecognised(body: String) {
        #expect {
            _ = try S3Notification(body: body)
        } throws: { error in
            (error as? LambdaRuntimeError)?.code == .unrecognisedMessage
        }
    }

    @Test(
        "An event that is not an SQS event is a MalformedEvent error",
        arguments: [
            "not json", "[]", #"{"detail":{}}"#, #"{"Records":{}}"#, #"{"Records":[1]}"#,
            #"{"Records":[{"body":"x"}]}"#, #"{"Records":[{"messageId":"m","body":7}]}"#,
        ])
    func malformedEvent(text: String) {
        #expect {
            _ = try SQSEvent(bytes: Array(text.utf8))
        } throws: { error in
            guard let error = error as? LambdaRuntimeError else { return false }
            return error.code == .malformedEvent && error.lambdaErrorType == "Function.MalformedEvent"
        }
    }
}

@Suite("Errors reported to Lambda")
struct ErrorReportTests {
    struct ObjectMissing: LambdaReportableError { var lambdaErrorType: String { "Function.ObjectMissing" } }
    struct BadType: LambdaReportableError { var lambdaErrorType: String { "oops" } }
    struct PlainSwiftError: Error {}
    struct Generic<T>: Error {}

    @Test(
        "Error types must match (Runtime|Function).[A-Z][a-zA-Z]+",
        arguments: [
            ("Function.ObjectMissing", true), ("Runtime.Unknown", true), ("Runtime.X", false), ("Function.", false),
            ("Function.objectMissing", false), ("Function.Object1", false), ("Handler.Failed", false),
            ("Function.Object.Missing", false), ("function.Failed", false), ("", false),
        ])
    func validation(type: String, valid: Bool) {
        #expect(ErrorReport.isValidType(type) == valid)
        #expect(ErrorReport(errorType: type, errorMessage: "m").errorType == (valid ? type : "Runtime.Unknown"))
    }

    @Test("Errors choose their type; others become Function.<TypeName>; invalid ones Runtime.Unknown")
    func fromErrors() {
        #expect(ErrorReport(ObjectMissing()).errorType == "Function.ObjectMissing")
        #expect(ErrorReport(BadType()).errorType == "Runtime.Unknown")
        #expect(ErrorReport(PlainSwiftError()).errorType == "Function.PlainSwiftError")
        #expect(ErrorReport(Generic<Int>()).errorType == "Function.Generic")
        #expect(ErrorReport(LambdaRuntimeError(.eventTooLarge, "x")).errorType == "Runtime.EventTooLarge")
    }

    @Test("The error body carries errorMessage, errorType and stackTrace")
    func body() throws {
        let report = ErrorReport(errorType: "Function.ObjectMissing", errorMessage: "no \"such\" key", stackTrace: ["a", "b"])
        #expect(report.json.text == #"{"errorMessage":"no \"such\" key","errorType":"Function.ObjectMissing","stackTrace":["a","b"]}"#)
    }
}
