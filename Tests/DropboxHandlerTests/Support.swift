import AWSClients
import AWSCore
import AWSSigV4
import DropboxHandler
import Foundation
import HTTPTransport
import JSONCodec
import LambdaRuntime
import PipelineCore
import Primitives
import TestSupport

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func fixturePath(_ name: String) throws -> String {
    guard let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil) else {
        throw TestFailure("fixture \(name) is missing")
    }
    return url.path
}

func fixture(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: try fixturePath(name)))) }

func unique(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.lowercased().prefix(10))" }

/// A dropbox on moto: its two buckets, the status table, the dataset parameter, and the handler
/// built through the real init (`DropboxLambda.make`) from the environment a Lambda would get.
struct DropboxStack: Sendable {
    static let transport: CurlTransport = {
        do { return try CurlTransport() } catch { fatalError("libcurl transport did not start: \(error)") }
    }()

    let moto: MotoStack
    let clients: PipelineClients
    let dropbox: String
    let ingest: String
    let table: String
    let parameter: String
    var environment: [String: String]
    let logs = MemoryLogSink()

    /// - Parameters:
    ///   - auth: signature checking on (false only for keys moto's checker wrongly rejects).
    ///   - names: fixed bucket names (for the replay fixture), else unique ones.
    init(auth: Bool = true, extra: [String: String] = [:], names: (String, String)? = nil) async throws {
        moto = try await SharedMoto.get(auth: auth)
        let settings = try AWSSettings(environment: Environment(moto.environment))
        let credentials = StaticCredentialProvider(AWSCredentials(accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey))
        clients = try PipelineClients.make(settings: settings, credentials: credentials, transport: Self.transport)
        dropbox = names?.0 ?? unique("dropbox")
        ingest = names?.1 ?? unique("ingest")
        table = unique("status")
        parameter = "/pipeline/\(unique("datasets"))"
        for bucket in [dropbox, ingest] {
            do {
                try await clients.s3.createBucket(bucket)
            } catch {
                guard error.s3Code == .bucketAlreadyOwnedByYou || error.s3Code == .bucketAlreadyExists else { throw error }
            }
        }
        try await StatusStore.createTable(clients.dynamoDB, table: table)
        try await clients.ssm.putParameter(parameter, value: String(decoding: try fixture("datasets.json"), as: UTF8.self))
        var environment = moto.environment
        environment["DROPBOX_BUCKET_NAME"] = dropbox
        environment["INGEST_BUCKET_NAME"] = ingest
        environment["INGEST_STATUS_TABLE"] = table
        environment["DATASETS_PARAMETER"] = parameter
        environment["DEADLINE_MARGIN_MS"] = "1000"
        for (name, value) in extra { environment[name] = value }
        self.environment = environment
    }

    var store: StatusStore { StatusStore(dynamoDB: clients.dynamoDB, table: table) }
    var s3: S3Client { clients.s3 }

    /// The handler, built by the real init phase (on `transport`, the shared libcurl one by default).
    func handler(transport: (any HTTPTransport)? = nil) async throws -> DropboxLambda {
        let clock = SystemClock()
        let configuration = try RuntimeConfiguration(environment: Environment(environment), defaultName: "dropbox-test")
        let logger = Logger(sink: logs, clock: clock)
        let metrics = MetricsRecorder(namespace: "test", dimensions: [("function_name", "dropbox-test")], sink: logs, clock: clock)
        return try await DropboxLambda.make(
            InitContext(
                environment: Environment(environment), configuration: configuration, logger: logger, metrics: metrics,
                transport: transport ?? Self.transport, clock: clock))
    }

    func context(requestId: String = unique("req"), seconds: Int64 = 60) -> LambdaContext {
        let clock = SystemClock()
        return LambdaContext(
            requestId: requestId, deadline: clock.now().adding(seconds: seconds),
            invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:dropbox", logger: Logger(sink: logs, clock: clock),
            metrics: MetricsRecorder(namespace: "test", dimensions: [("function_name", "dropbox-test")], sink: logs, clock: clock),
            clock: clock)
    }

    /// Uploads `body` under the incoming prefix and returns the S3 event record for it.
    @discardableResult
    func drop(_ name: String, _ body: [UInt8]) async throws -> S3EventRecord {
        let key = "received_files/\(name)"
        let put = try await s3.putObject(bucket: dropbox, key: key, body: body)
        return S3EventRecord(
            eventName: "ObjectCreated:Put", bucketName: dropbox, key: key, size: Int64(body.count), eTag: put.etag.map(FileId.unquoted))
    }

    /// Runs a batch through the Lambda handler; returns the failed message ids.
    func run(_ records: [S3EventRecord], handler: DropboxLambda, context: LambdaContext? = nil) async throws -> [String] {
        let context = context ?? self.context()
        let response = try await handler.handle(sqsEvent(records), context: context)
        context.metrics.flush()
        let json = try JSONParser.parse(response)
        return (json["batchItemFailures"]?.arrayValue ?? []).compactMap { $0["itemIdentifier"]?.stringValue }
    }

    func exists(_ bucket: String, _ key: String) async -> Bool {
        (try? await s3.headObject(bucket: bucket, key: key)) != nil
    }

    func text(_ bucket: String, _ key: String) async throws -> String {
        String(decoding: try await s3.readPrefix(bucket: bucket, key: key, count: 1 << 20), as: UTF8.self)
    }

    /// A transport that forwards to the shared libcurl one and records every request.
    static func recordingTransport() -> ClosureTransport {
        let inner = transport
        return ClosureTransport { request, _ throws(HTTPError) in try await inner.execute(request) }
    }

    var logLines: [JSON] { logs.lines.compactMap { try? JSONParser.parse($0) } }
}

/// An SQS event whose messages each carry one S3 notification, keys form-encoded as S3 sends them.
func sqsEvent(_ records: [S3EventRecord], messageIds: [String]? = nil) -> [UInt8] {
    var messages: [JSON] = []
    for (index, record) in records.enumerated() {
        var object: JSONObject = ["key": .string(formEncode(record.key)), "size": .number(record.size ?? 0)]
        if let etag = record.eTag { object.append("eTag", .string(etag)) }
        let body: JSON = .object([
            "Records": .array([
                .object([
                    "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                    "eventTime": "2024-05-24T10:15:30.000Z", "eventName": .string(record.eventName),
                    "s3": .object([
                        "s3SchemaVersion": "1.0",
                        "bucket": .object(["name": .string(record.bucketName), "arn": .string("arn:aws:s3:::\(record.bucketName)")]),
                        "object": .object(object),
                    ]),
                ])
            ])
        ])
        messages.append(
            .object([
                "messageId": .string(messageIds?[index] ?? "m-\(index)"), "receiptHandle": "rh", "body": .string(body.text),
                "attributes": .object(["ApproximateReceiveCount": "1"]), "messageAttributes": .object([:]),
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:dropbox-events",
                "awsRegion": "us-east-1",
            ]))
    }
    return JSON.object(["Records": .array(messages)]).bytes
}

/// `application/x-www-form-urlencoded`, as S3 encodes keys in event notifications.
func formEncode(_ key: String) -> String {
    PercentEncoding.encode(key, allowing: PercentEncoding.AllowedSet(unreservedPlus: "/ ")).replacingOccurrences(of: " ", with: "+")
}

func jsonLines(_ count: Int, start: Int = 1) -> [UInt8] {
    var text = ""
    for index in start..<(start + count) {
        text += "{\"order_id\":\(index),\"sold_at\":\"2024-05-01T10:00:00Z\",\"amount\":\(index * 3).5}\n"
    }
    return Array(text.utf8)
}
