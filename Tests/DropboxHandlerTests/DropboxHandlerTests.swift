import AWSClients
import DropboxHandler
import Gzip
import JSONCodec
import LambdaRuntime
import PipelineCore
import Primitives
import Testing
import TestSupport

@Suite("Dropbox handler on moto (signature checking on): accepted, rejected, duplicates, races, crashes")
struct DropboxHandlerTests {
    @Test("A valid file is moved to in/<dataset>/… with the pipeline metadata; status ACCEPTED; logged and counted")
    func accepted() async throws {
        let stack = try await DropboxStack()
        let handler = try await stack.handler()
        let body = jsonLines(3)
        let record = try await stack.drop("sales/eu/orders-1.jsonl", body)
        #expect(try await stack.run([record], handler: handler).isEmpty)
        #expect(await !stack.exists(stack.dropbox, record.key))
        let head = try await stack.s3.headObject(bucket: stack.ingest, key: "in/sales/sales/eu/orders-1.jsonl")
        let fileId = "sales/sales/eu/orders-1.jsonl@\(record.eTag!)"
        #expect(head.metadata[PipelineMetadata.fileId] == fileId)
        #expect(head.metadata[PipelineMetadata.dataset] == "sales")
        #expect(head.metadata[PipelineMetadata.sourceKey] == "received_files/sales/eu/orders-1.jsonl")
        #expect(head.metadata[PipelineMetadata.sourceETag] == record.eTag)
        #expect(try await stack.text(stack.ingest, "in/sales/sales/eu/orders-1.jsonl") == String(decoding: body, as: UTF8.self))
        let status = try #require(try await stack.store.get(fileId: fileId, stage: .dropbox))
        #expect(status.status == .accepted)
        #expect(status.fileName == "sales/eu/orders-1.jsonl")
        #expect(status.size == Int64(body.count))
        #expect(status.attempt == 1)
        let line = try #require(stack.logLines.first { $0["message"]?.stringValue == "file accepted" })
        #expect(line["dataset"]?.stringValue == "sales")
        #expect(line["status"]?.stringValue == "ACCEPTED")
        #expect(line["stage"]?.stringValue == "dropbox")
        #expect(stack.logs.lines.contains { $0.contains("\"Accepted\":1") })
    }

    @Test("A gzip-compressed file with a .gz name and a CSV file validated in full are accepted")
    func acceptedVariants() async throws {
        let stack = try await DropboxStack()
        let handler = try await stack.handler()
        let gz = try await stack.drop("sales/us/orders.jsonl.gz", try Gzip.compress(jsonLines(500)))
        let csv = try await stack.drop("telemetry/st-1/day 1.csv", Array("reading_id,temperature_c\n1,20.5\n2,21\n".utf8))
        #expect(try await stack.run([gz, csv], handler: handler).isEmpty)
        #expect(await stack.exists(stack.ingest, "in/sales/sales/us/orders.jsonl.gz"))
        #expect(await stack.exists(stack.ingest, "in/telemetry/telemetry/st-1/day 1.csv"))
    }

    static let rejections: [(String, [UInt8], Rejection.Code)] = [
        ("unknown/thing.jsonl", jsonLines(1), .unknownDataset),
        ("sales/eu/orders.txt", jsonLines(1), .extensionNotAllowed),
        ("sales/eu/empty.jsonl", [], .emptyFile),
        ("sales/eu/huge.jsonl", jsonLines(20_000), .fileTooLarge),
        ("sales/eu/fake.jsonl.gz", jsonLines(2), .compressionMismatch),
        ("sales/eu/garbled.jsonl", Array("this is not json\n".utf8), .unreadableSample),
        ("sales/eu/missing.jsonl", Array("{\"sold_at\":\"2024-05-01T10:00:00Z\"}\n".utf8), .missingRequiredField),
        ("sales/eu/wrong.jsonl", Array("{\"order_id\":\"seven\",\"sold_at\":\"2024-05-01T10:00:00Z\"}\n".utf8), .wrongFieldType),
        ("telemetry/st-2/bad row.csv", Array("reading_id,temperature_c\n1,20\n2,hot\n".utf8), .wrongFieldType),
        ("telemetry/st-2/no column.csv", Array("temperature_c\n20\n".utf8), .missingRequiredField),
    ]

    @Test("Each rejection reason: moved to rejected/ with <name>.error.json beside it; status REJECTED with the same reason", arguments: 0..<10)
    func rejected(_ index: Int) async throws {
        let (name, body, code) = Self.rejections[index]
        let stack = try await DropboxStack()
        let handler = try await stack.handler()
        let record = try await stack.drop(name, body)
        #expect(try await stack.run([record], handler: handler).isEmpty)
        #expect(await !stack.exists(stack.dropbox, record.key))
        #expect(await stack.exists(stack.dropbox, "rejected/\(name)"))
        let document = try JSONParser.parse(try await stack.text(stack.dropbox, "rejected/\(name).error.json"))
        #expect(document["code"]?.stringValue == code.rawValue)
        #expect(document["file"]?.stringValue == record.key)
        let reason = try #require(document["reason"]?.stringValue)
        #expect(reason.hasSuffix(".") && reason.count > 20)
        #expect(document["rejected_at"]?.stringValue?.hasSuffix("Z") == true)
        #expect(document["details"]?.arrayValue != nil)
        let dataset = code == .unknownDataset ? DropboxObjectHandler.unmatchedDataset : String(name.split(separator: "/")[0])
        #expect(document["dataset"]?.stringValue == (code == .unknownDataset ? nil : dataset))
        let fileId = FileId.make(dataset: dataset, relativePath: name, etag: record.eTag, versionId: nil)
        let status = try #require(try await stack.store.get(fileId: fileId, stage: .dropbox))
        #expect(status.status == .rejected)
        #expect(status.reason == reason)
        #expect(status.errorCode == code.rawValue)
        #expect(stack.logs.lines.contains { $0.contains("\"Rejected\(code.rawValue)\":1") })
        #expect(!(await stack.exists(stack.ingest, "in/\(dataset)/\(name)")))
    }

    @Test("A duplicate delivery (in the same batch, and again later) is acknowledged without doing the work twice")
    func duplicate() async throws {
        let stack = try await DropboxStack()
        let handler = try await stack.handler()
        let record = try await stack.drop("sales/eu/dup.jsonl", jsonLines(2))
        #expect(try await stack.run([record, record], handler: handler).isEmpty)
        #expect(try await stack.run([record], handler: handler).isEmpty)
        let status = try #require(try await stack.store.get(fileId: "sales/sales/eu/dup.jsonl@\(record.eTag!)", stage: .dropbox))
        #expect(status.status == .accepted)
        #expect(status.attempt == 1)
        #expect(stack.logs.lines.filter { $0.contains("duplicate event") }.count == 2)
        #expect(await stack.exists(stack.ingest, "in/sales/sales/eu/dup.jsonl"))
    }

    @Test("Two invocations racing on the same event: exactly one moves the file, the other acknowledges")
    func race() async throws {
        let stack = try await DropboxStack()
        let handler = try await stack.handler()
        let record = try await stack.drop("sales/eu/race.jsonl", jsonLines(50))
        let object = handler.batch.handler
        async let first = object.process(record, context: stack.context(requestId: "inv-a"))
        async let second = object.process(record, context: stack.context(requestId: "inv-b"))
        let outcomes = try await [first, second]
        let accepted = outcomes.filter { if case .accepted = $0 { true } else { false } }
        #expect(accepted.count == 1)
        #expect(outcomes.contains { if case .heldByOther = $0 { true } else { $0 == .alreadyDone(.accepted) } })
        // The loser held off knows when the winner's claim runs out: its message comes back then.
        for case .heldByOther(let until) in outcomes { #expect(until != nil) }
        let status = try #require(try await stack.store.get(fileId: "sales/sales/eu/race.jsonl@\(record.eTag!)", stage: .dropbox))
        #expect(status.status == .accepted && status.attempt == 1)
        #expect(await stack.exists(stack.ingest, "in/sales/sales/eu/race.jsonl"))
        #expect(await !stack.exists(stack.dropbox, record.key))
    }

    @Test("A file another live invocation holds: the record fails (to come back), never acknowledged while the holder may still die")
    func heldElsewhereIsRetried() async throws {
        let stack = try await DropboxStack()
        let handler = try await stack.handler()
        let record = try await stack.drop("sales/eu/held.jsonl", jsonLines(4))
        let fileId = "sales/sales/eu/held.jsonl@\(record.eTag!)"
        let file = TrackedFile(dataset: "sales", fileName: "sales/eu/held.jsonl", bucket: stack.dropbox, key: record.key, size: record.size, etag: record.eTag)
        // Held well past this invocation's time: no waiting for it.
        _ = try await stack.store.claim(
            fileId: fileId, stage: .dropbox, file: file, owner: "holder", deadline: SystemClock().now().adding(seconds: 3600))
        let failures = try await stack.run([record], handler: handler)
        #expect(failures.count == 1)
        #expect(await stack.exists(stack.dropbox, record.key))
        // The holder's claim ends (it died): the record's next delivery moves the file.
        _ = try await stack.store.release(fileId: fileId, stage: .dropbox, owner: "holder", reason: "died", errorCode: "Test")
        #expect(try await stack.run([record], handler: handler).isEmpty)
        #expect(try await stack.store.get(fileId: fileId, stage: .dropbox)?.status == .accepted)
    }

    @Test("A crash between copy and delete: the retry (after the claim expires) completes the move")
    func crashBetweenCopyAndDelete() async throws {
        let stack = try await DropboxStack()
        let handler = try await stack.handler()
        let record = try await stack.drop("sales/eu/crash.jsonl", jsonLines(4))
        let fileId = "sales/sales/eu/crash.jsonl@\(record.eTag!)"
        // The crashed invocation: claimed with a deadline now past, copied, died before verify and delete.
        let file = TrackedFile(dataset: "sales", fileName: "sales/eu/crash.jsonl", bucket: stack.dropbox, key: record.key, size: record.size, etag: record.eTag)
        _ = try await stack.store.claim(
            fileId: fileId, stage: .dropbox, file: file, owner: "crashed", deadline: SystemClock().now().adding(seconds: -1))
        _ = try await stack.s3.copy(
            from: S3ObjectRef(bucket: stack.dropbox, key: record.key), to: S3ObjectRef(bucket: stack.ingest, key: "in/sales/sales/eu/crash.jsonl"),
            extraMetadata: [PipelineMetadata.sourceETag: record.eTag!])
        #expect(try await stack.run([record], handler: handler).isEmpty)
        #expect(await !stack.exists(stack.dropbox, record.key))
        let status = try #require(try await stack.store.get(fileId: fileId, stage: .dropbox))
        #expect(status.status == .accepted)
        #expect(status.attempt == 2)
    }

    @Test("A crash after the delete, before the status: the retry finds the verified copy and completes the status")
    func crashAfterDelete() async throws {
        let stack = try await DropboxStack()
        let handler = try await stack.handler()
        let record = try await stack.drop("sales/eu/late.jsonl", jsonLines(4))
        let fileId = "sales/sales/eu/late.jsonl@\(record.eTag!)"
        let file = TrackedFile(dataset: "sales", fileName: "sales/eu/late.jsonl", bucket: stack.dropbox, key: record.key, size: record.size, etag: record.eTag)
        _ = try await stack.store.claim(
            fileId: fileId, stage: .dropbox, file: file, owner: "crashed", deadline: SystemClock().now().adding(seconds: -1))
        _ = try await FileMover(s3: stack.s3).move(
            from: S3ObjectRef(bucket: stack.dropbox, key: record.key), to: S3ObjectRef(bucket: stack.ingest, key: "in/sales/sales/eu/late.jsonl"),
            expectedETag: record.eTag)
        #expect(try await stack.run([record], handler: handler).isEmpty)
        let status = try #require(try await stack.store.get(fileId: fileId, stage: .dropbox))
        #expect(status.status == .accepted && status.attempt == 2)
        #expect(stack.logs.lines.contains { $0.contains("an earlier attempt had moved the file") })
    }

    @Test("A crash after the delete, and ingest has moved the copy on since: the retry still completes ACCEPTED, not Vanished")
    func crashAfterDeleteCopyMovedOn() async throws {
        let stack = try await DropboxStack()
        let handler = try await stack.handler()
        let record = try await stack.drop("sales/eu/onward.jsonl", jsonLines(4))
        let fileId = "sales/sales/eu/onward.jsonl@\(record.eTag!)"
        let file = TrackedFile(dataset: "sales", fileName: "sales/eu/onward.jsonl", bucket: stack.dropbox, key: record.key, size: record.size, etag: record.eTag)
        _ = try await stack.store.claim(
            fileId: fileId, stage: .dropbox, file: file, owner: "crashed", deadline: SystemClock().now().adding(seconds: -1))
        let accepted = S3ObjectRef(bucket: stack.ingest, key: "in/sales/sales/eu/onward.jsonl")
        _ = try await FileMover(s3: stack.s3).move(from: S3ObjectRef(bucket: stack.dropbox, key: record.key), to: accepted, expectedETag: record.eTag)
        // The ingest stage took the file (same file id) and moved it out of in/.
        let ingested = TrackedFile(dataset: "sales", fileName: "sales/eu/onward.jsonl", bucket: stack.ingest, key: accepted.key, size: record.size, etag: record.eTag)
        _ = try await stack.store.claim(fileId: fileId, stage: .ingest, file: ingested, owner: "ingest", deadline: SystemClock().now().adding(seconds: 60))
        _ = try await FileMover(s3: stack.s3).move(from: accepted, to: S3ObjectRef(bucket: stack.ingest, key: "processed/sales/sales/eu/onward.jsonl"))
        #expect(try await stack.run([record], handler: handler).isEmpty)
        let status = try #require(try await stack.store.get(fileId: fileId, stage: .dropbox))
        #expect(status.status == .accepted && status.attempt == 2)
        #expect(status.errorCode == nil)
    }

    @Test("A vanished file, an s3:TestEvent, another bucket's event and a key outside the prefix are acknowledged and logged")
    func oddEvents() async throws {
        let stack = try await DropboxStack()
        let handler = try await stack.handler()
        let gone = S3EventRecord(eventName: "ObjectCreated:Put", bucketName: stack.dropbox, key: "received_files/sales/eu/gone.jsonl", size: 10, eTag: "abc")
        let foreign = S3EventRecord(eventName: "ObjectCreated:Put", bucketName: "someone-else", key: "received_files/sales/eu/x.jsonl", size: 10, eTag: "abc")
        let outside = S3EventRecord(eventName: "ObjectCreated:Put", bucketName: stack.dropbox, key: "elsewhere/x.jsonl", size: 10, eTag: "abc")
        var event = try JSONParser.parse(sqsEvent([gone, foreign, outside]))
        guard case .object(var root) = event, case .array(var records)? = root["Records"] else { throw TestFailure("bad event") }
        records.append(
            .object([
                "messageId": "m-test", "receiptHandle": "rh",
                "body": .string(#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"\#(stack.dropbox)"}"#),
            ]))
        root["Records"] = .array(records)
        event = .object(root)
        let response = try JSONParser.parse(try await handler.handle(event.bytes, context: stack.context()))
        #expect(response["batchItemFailures"]?.arrayValue?.isEmpty == true)
        let status = try #require(try await stack.store.get(fileId: "sales/sales/eu/gone.jsonl@abc", stage: .dropbox))
        #expect(status.status == .skipped)
        #expect(status.errorCode == "Vanished")
        let messages = stack.logLines.compactMap { $0["message"]?.stringValue }
        #expect(messages.contains("the file vanished before it was handled"))
        #expect(messages.contains("event from a bucket that is not the dropbox: ignored"))
        #expect(messages.contains("event outside the incoming prefix: ignored"))
        #expect(messages.contains("s3:TestEvent acknowledged"))
    }

    @Test("An event from another bucket is refused: logged with its code and counted, the object untouched, nothing recorded")
    func foreignBucketRefused() async throws {
        let stack = try await DropboxStack()
        let handler = try await stack.handler()
        let other = unique("other")
        try await stack.s3.createBucket(other)
        let key = "received_files/sales/eu/foreign.jsonl"
        let put = try await stack.s3.putObject(bucket: other, key: key, body: jsonLines(2))
        let record = S3EventRecord(
            eventName: "ObjectCreated:Put", bucketName: other, key: key, size: Int64(jsonLines(2).count), eTag: put.etag.map(FileId.unquoted))
        let context = stack.context()
        let outcome = try await handler.batch.handler.process(record, context: context)
        #expect(outcome == .ignored("bucket \(other) is not the dropbox bucket"))
        let warning = try #require(stack.logLines.first { $0["code"]?.stringValue == "ForeignBucket" })
        #expect(warning["level"]?.stringValue == "WARN")
        #expect(warning["bucket"]?.stringValue == other)
        #expect(context.metrics.pendingMetrics.filter { $0.name == "ForeignBucketEvents" }.flatMap(\.values) == [1])
        #expect(await stack.exists(other, key))
        #expect(await stack.exists(other, "rejected/sales/eu/foreign.jsonl.error.json") == false)
        #expect(await stack.exists(stack.ingest, "in/sales/sales/eu/foreign.jsonl") == false)
        let fileId = FileId.make(dataset: "sales", relativePath: "sales/eu/foreign.jsonl", etag: record.eTag, versionId: nil)
        #expect(try await stack.store.get(fileId: fileId, stage: .dropbox) == nil)
    }

    @Test("Above MULTIPART_COPY_THRESHOLD_MB the file is moved with UploadPartCopy and verified by its metadata")
    func multipartThreshold() async throws {
        let stack = try await DropboxStack(extra: ["MULTIPART_COPY_THRESHOLD_MB": "1", "MULTIPART_COPY_PART_MB": "5"])
        let handler = try await stack.handler()
        var body: [UInt8] = []
        var line = 0
        while body.count < 6 << 20 {
            line += 1
            body += Array("{\"note\":\"\(line) \(String(repeating: "x", count: 200))\"}\n".utf8)
        }
        let record = try await stack.drop("notes/big/one.jsonl", body)
        #expect(try await stack.run([record], handler: handler).isEmpty)
        let head = try await stack.s3.headObject(bucket: stack.ingest, key: "in/notes/notes/big/one.jsonl")
        #expect(head.etag?.contains("-2") == true)
        #expect(head.objectSize == Int64(body.count))
        #expect(head.metadata[PipelineMetadata.sourceETag] == record.eTag)
    }

    @Test("A bad setting is an init error naming it; so is a bad dataset document field")
    func initErrors() async throws {
        let stack = try await DropboxStack()
        var environment = stack.environment
        environment["DROPBOX_BUCKET_NAME"] = "Not_A_Bucket"
        var broken = stack
        broken.environment = environment
        do {
            _ = try await broken.handler()
            Issue.record("expected an init error")
        } catch let error as DropboxInitError {
            #expect(error.setting == "DROPBOX_BUCKET_NAME")
            #expect(error.lambdaErrorType == "Runtime.InvalidSetting")
        }
        try await stack.clients.ssm.putParameter(
            stack.parameter, value: #"{"datasets":[{"name":"x","keyPattern":"x/{a}","format":{"type":"jsonl"},"compression":"zip"}]}"#,
            overwrite: true)
        do {
            _ = try await stack.handler()
            Issue.record("expected an init error")
        } catch let error as DropboxInitError {
            #expect(error.setting == "datasets[0].compression")
            #expect(error.description.contains("zip"))
        }
    }
}

@Suite("Dropbox handler with unusual keys (moto without its signature checker, which wrongly rejects these keys)")
struct DropboxUnusualKeyTests {
    @Test("Keys with spaces, + and non-ASCII characters are checked and moved exactly", arguments: [
        "notes/a b/report 1.jsonl", "notes/plus+equals=/x+y.jsonl", "notes/café/日本 データ.jsonl",
    ])
    func unusualKeys(_ name: String) async throws {
        let stack = try await DropboxStack(auth: false)
        let handler = try await stack.handler()
        let record = try await stack.drop(name, Array("{\"n\":1}\n".utf8))
        #expect(try await stack.run([record], handler: handler).isEmpty)
        let destination = "in/notes/\(name)"
        let head = try await stack.s3.headObject(bucket: stack.ingest, key: destination)
        #expect(PipelineMetadata.decode(head.metadata[PipelineMetadata.sourceKey] ?? "") == "received_files/\(name)")
        #expect(await !stack.exists(stack.dropbox, record.key))
        let status = try #require(try await stack.store.get(fileId: "notes/\(name)@\(record.eTag!)", stage: .dropbox))
        #expect(status.status == .accepted)
        #expect(status.key == "received_files/\(name)")
    }
}

