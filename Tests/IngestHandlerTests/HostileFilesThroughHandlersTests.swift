import AWSClients
import AWSSigV4
import DropboxHandler
import Foundation
import Gzip
import HTTPTransport
import IngestHandler
import JSONCodec
import LambdaRuntime
import PipelineCore
import Primitives
import Testing
import TestSupport

/// Hostile files dropped into the pipeline the way providers drop them: into the dropbox bucket,
/// through the dropbox Lambda (its SQS event, its checks, its move), then through the ingest
/// handler against moto and the OpenSearch stand-in. A file the dropbox rejects is also put under
/// `in/` directly (a resubmission, or a bucket written by hand), so the ingest's own rules meet it
/// too. Every file must end in a status item with a readable reason, and the ingest must file it
/// (`processed/` or `failed/`) with the errors object its rules call for: no crash, no hang, no
/// silent skip. The committed files are in `Fixtures/hostile/`; the 100 MB line and the gzip bomb
/// are generated here and streamed up.
@Suite("Hostile files through the dropbox and ingest handlers")
struct HostileFilesThroughHandlersTests {
    /// What the dropbox must decide.
    enum DropboxVerdict: Sendable, CustomStringConvertible {
        case accepted
        case rejected(Rejection.Code)
        var description: String {
            switch self {
            case .accepted: "accepted"
            case .rejected(let code): "rejected \(code.rawValue)"
            }
        }
    }

    /// What the ingest must end with: the file's status and its status item's `error_code` (the
    /// file's own error, or `SomeRecordsFailed`/`TooManyFailedRecords`), the error codes of the
    /// errors object's lines in order, the records indexed, and words the reason must hold.
    struct IngestVerdict: Sendable {
        var status: FileStatus
        var errorCode: String? = nil
        var recordErrors: [String] = []
        var indexed: Int
        var reasonHolds: String? = nil
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var dropbox: DropboxVerdict
        var ingest: IngestVerdict
        var testDescription: String { name }
        var dataset: String { String(name.split(separator: "/")[0]) }
        var fixture: String { "hostile/" + name.split(separator: "/").dropFirst().joined(separator: "/") }
    }

    /// The dropbox bucket beside the ingest stack's bucket, one status table, the hostile catalog
    /// (`hostile-datasets.json`), and the dropbox Lambda built by its real init.
    struct Pipeline {
        let stack: IngestTestStack
        let dropboxBucket: String
        let dropbox: DropboxLambda
        let logs = MemoryLogSink()

        /// - Parameter auth: moto's signature checking (off only for keys its checker wrongly rejects).
        init(auth: Bool = true) async throws {
            try await self.init(
                stack: try await IngestTestStack(datasets: "hostile-datasets.json", auth: auth),
                dropboxBucket: "dropbox-\(UUID().uuidString.lowercased().prefix(10))")
        }

        /// - Parameter credentials: the dropbox Lambda's own key (a role's), else the stack's.
        init(stack: IngestTestStack, dropboxBucket: String, credentials: AWSCredentials? = nil) async throws {
            self.stack = stack
            self.dropboxBucket = dropboxBucket
            try await stack.s3.createBucket(dropboxBucket)
            var environment = stack.environment
            environment["DROPBOX_BUCKET_NAME"] = dropboxBucket
            if let credentials {
                environment["AWS_ACCESS_KEY_ID"] = credentials.accessKeyId
                environment["AWS_SECRET_ACCESS_KEY"] = credentials.secretAccessKey
            }
            let clock = SystemClock()
            dropbox = try await DropboxLambda.make(
                InitContext(
                    environment: Environment(environment),
                    configuration: try RuntimeConfiguration(environment: Environment(environment), defaultName: "dropbox-hostile"),
                    logger: Logger(sink: logs, clock: clock),
                    metrics: MetricsRecorder(namespace: "test", dimensions: [], sink: logs, clock: clock),
                    transport: IngestTestStack.transport, clock: clock))
        }

        /// Runs the dropbox Lambda on the SQS event of `received_files/<name>` (put as `etag`), and
        /// returns the dropbox stage's status item.
        func runDropbox(_ name: String, etag: String?, size: Int64) async throws -> StatusRecord {
            let key = "received_files/\(name)"
            let etag = try #require(etag.map(FileId.unquoted))
            let notification: JSON = [
                "Records": [
                    [
                        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                        "eventName": "ObjectCreated:Put",
                        "s3": [
                            "bucket": ["name": .string(dropboxBucket)],
                            "object": ["key": .string(key), "size": .number(size), "eTag": .string(etag)],
                        ],
                    ]
                ]
            ]
            let event: JSON = [
                "Records": [
                    [
                        "messageId": "hostile-1", "receiptHandle": "rh", "body": .string(notification.text),
                        "attributes": ["ApproximateReceiveCount": "1"], "eventSource": "aws:sqs",
                        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:dropbox", "awsRegion": "us-east-1",
                    ]
                ]
            ]
            let context = IngestTestStack.context(logs: logs)
            let response = try JSONParser.parse(try await dropbox.handle(event.bytes, context: context))
            #expect(response["batchItemFailures"]?.arrayValue?.isEmpty == true, "the dropbox failed the record: \(response.text)")
            let fileId = FileId.make(
                dataset: String(name.split(separator: "/")[0]), relativePath: name, etag: etag, versionId: nil)
            return try #require(try await stack.status.get(fileId: fileId, stage: .dropbox), "no dropbox status for \(name)")
        }

        /// Checks the dropbox's decision and, for a rejection, the `.error.json` beside the file.
        func checkDropbox(_ name: String, _ record: StatusRecord, _ verdict: DropboxVerdict) async throws {
            let reason = try #require(record.reason ?? (record.status == .accepted ? "" : nil), "\(name): no reason")
            switch verdict {
            case .accepted:
                #expect(record.status == .accepted, "\(name): \(record.status) \(reason)")
            case .rejected(let code):
                #expect(record.status == .rejected && record.errorCode == code.rawValue, "\(name): \(record.status) \(reason)")
                #expect(reason.count > 20, "\(name): the reason '\(reason)' says too little")
                let document = try JSONParser.parse(
                    try await stack.s3.getObject(bucket: dropboxBucket, key: "rejected/\(name).error.json").body.collect())
                #expect(document["code"]?.stringValue == code.rawValue && document["reason"]?.stringValue == reason)
                #expect(await exists(dropboxBucket, "rejected/\(name)"))
            }
            let left = await exists(dropboxBucket, "received_files/\(name)")
            #expect(!left, "\(name) left in the dropbox")
        }

        /// Ingests `in/<dataset>/<name>` and checks the outcome, the status item, where the file was
        /// filed and the errors object.
        func runIngest(_ dataset: String, _ name: String, _ verdict: IngestVerdict) async throws {
            let keys = IngestKeys(dataset: dataset, rest: name)
            let result = try await stack.handler().ingest(bucket: stack.bucket, key: keys.incoming, context: IngestTestStack.context())
            let outcome = try #require(result.outcome, "\(name): \(result)")
            let summary = "\(name): \(outcome.status) \(outcome.errorCode ?? "-") \(outcome.reason ?? "-")"
            #expect(outcome.status == verdict.status, "\(summary)")
            #expect(outcome.errorCode == verdict.errorCode, "\(summary)")
            if let words = verdict.reasonHolds { #expect(outcome.reason?.contains(words) == true, "\(summary)") }
            #expect(outcome.indexed == verdict.indexed, "\(summary): \(outcome.indexed) indexed")
            let record = try #require(try await stack.statusRecord(outcome.fileId))
            #expect(record.status == outcome.status && record.reason == outcome.reason)
            if outcome.status != .ingested || outcome.records == 0 {
                let reason = try #require(outcome.reason, "\(summary): no reason")
                #expect(reason.count > 20, "\(summary): the reason says too little")
            }
            let filed = outcome.status == .failed ? keys.failed : keys.processed
            #expect(outcome.destinationKey == filed, "\(summary): filed as \(outcome.destinationKey ?? "nothing")")
            let (isFiled, isLeft) = (try await stack.exists(filed), try await stack.exists(keys.incoming))
            #expect(isFiled && !isLeft, "\(summary): filed \(isFiled), left under in/ \(isLeft)")
            if verdict.recordErrors.isEmpty {
                let written = try await stack.exists(keys.errors)
                #expect(!written, "\(summary): an errors object")
            } else {
                let lines = try await stack.errorLines(keys.errors)
                #expect(lines.compactMap { $0["error_code"]?.stringValue } == verdict.recordErrors, "\(summary)")
                for line in lines { #expect(line["reason"]?.stringValue?.isEmpty == false) }
            }
        }

        /// Drops `body` through the dropbox, then ingests what it accepted, or (when it rejected the
        /// file) the same bytes put under `in/` directly. Returns the dropbox's status item.
        @discardableResult
        func run(_ name: String, _ body: [UInt8], dropbox verdict: DropboxVerdict, ingest: IngestVerdict) async throws -> StatusRecord {
            let put = try await stack.s3.putObject(bucket: dropboxBucket, key: "received_files/\(name)", body: body)
            let record = try await runDropbox(name, etag: put.etag, size: Int64(body.count))
            try await checkDropbox(name, record, verdict)
            let dataset = String(name.split(separator: "/")[0])
            if case .rejected = verdict { try await stack.put(IngestKeys(dataset: dataset, rest: name).incoming, body) }
            try await runIngest(dataset, name, ingest)
            return record
        }

        /// The same with a body generated as it is uploaded (never held whole).
        func run(
            _ name: String, length: Int64, generate: @escaping @Sendable () -> [UInt8]?, dropbox verdict: DropboxVerdict,
            ingest: IngestVerdict
        ) async throws {
            let put = try await stack.s3.putObject(
                bucket: dropboxBucket, key: "received_files/\(name)", stream: HTTPBodyStream(length: length) { generate() })
            let record = try await runDropbox(name, etag: put.etag, size: length)
            try await checkDropbox(name, record, verdict)
            let dataset = String(name.split(separator: "/")[0])
            if case .rejected = verdict {
                let incoming = IngestKeys(dataset: dataset, rest: name).incoming
                _ = try await stack.s3.copyObject(
                    from: S3ObjectRef(bucket: dropboxBucket, key: "rejected/\(name)"), to: S3ObjectRef(bucket: stack.bucket, key: incoming))
            }
            try await runIngest(dataset, name, ingest)
        }

        func exists(_ bucket: String, _ key: String) async -> Bool {
            (try? await stack.s3.headObject(bucket: bucket, key: key)) != nil
        }
    }

    static let committed: [Case] = [
        Case(
            name: "events/empty.jsonl", dropbox: .rejected(.emptyFile),
            ingest: IngestVerdict(status: .ingested, indexed: 0, reasonHolds: "holds no records (0 bytes)")),
        Case(
            name: "events/bom-only.jsonl", dropbox: .rejected(.unreadableSample),
            ingest: IngestVerdict(status: .ingested, indexed: 0, reasonHolds: "holds no records (3 bytes)")),
        Case(
            name: "events/bom.jsonl", dropbox: .accepted,
            ingest: IngestVerdict(status: .ingested, indexed: 2)),
        Case(
            name: "events/crlf.jsonl", dropbox: .accepted,
            ingest: IngestVerdict(status: .ingested, indexed: 3)),
        Case(
            name: "readings/crlf.csv", dropbox: .accepted,
            ingest: IngestVerdict(status: .ingested, indexed: 2)),
        Case(
            name: "events/invalid-utf8.jsonl", dropbox: .rejected(.unreadableSample),
            ingest: IngestVerdict(status: .partial, errorCode: "SomeRecordsFailed", recordErrors: ["InvalidUTF8", "InvalidUTF8"], indexed: 2)),
        Case(
            name: "events/utf16.jsonl", dropbox: .rejected(.unreadableSample),
            ingest: IngestVerdict(status: .failed, errorCode: "TooManyFailedRecords", recordErrors: ["InvalidJSON"], indexed: 0)),
        Case(
            name: "readings/unbalanced-quotes.csv", dropbox: .rejected(.unreadableSample),
            ingest: IngestVerdict(status: .partial, errorCode: "SomeRecordsFailed", recordErrors: ["UnbalancedQuote"], indexed: 2)),
        Case(
            name: "readings/text-after-quote.csv", dropbox: .rejected(.unreadableSample),
            ingest: IngestVerdict(status: .partial, errorCode: "SomeRecordsFailed", recordErrors: ["UnbalancedQuote"], indexed: 3)),
    ]

    @Test("Committed hostile files: each ends in a status with a reason, filed with its errors object", arguments: committed)
    func committedFile(_ hostile: Case) async throws {
        let pipeline = try await Pipeline()
        try await pipeline.run(
            hostile.name, try IngestTestStack.fixture(hostile.fixture), dropbox: hostile.dropbox, ingest: hostile.ingest)
    }

    @Test("A 300-character non-ASCII name and 900 bytes of the provider's metadata: each copy's within S3's 2 KB; accepted, ingested")
    func longNonASCIIName() async throws {
        // moto's signature checker wrongly rejects non-ASCII keys: it is off here (the stand-in's is on).
        let pipeline = try await Pipeline(auth: false)
        // Percent-encoded in the file id and the source key, the name alone takes 5.4 KB of metadata.
        let name = "events/" + String(repeating: "データ", count: 100) + ".jsonl"
        let body = try IngestTestStack.fixture("hostile/crlf.jsonl")
        let note = String(repeating: "n", count: 900)
        let put = try await pipeline.stack.s3.putObject(
            bucket: pipeline.dropboxBucket, key: "received_files/\(name)", body: body, metadata: ["provider-note": note])
        let record = try await pipeline.runDropbox(name, etag: put.etag, size: Int64(body.count))
        try await pipeline.checkDropbox(name, record, .accepted)
        let keys = IngestKeys(dataset: "events", rest: name)
        let incoming = try await pipeline.stack.s3.headObject(bucket: pipeline.stack.bucket, key: keys.incoming)
        #expect(PipelineMetadata.size(incoming.metadata) <= PipelineMetadata.sizeLimit)
        #expect(incoming.metadata["provider-note"] == note)
        #expect(incoming.metadata[PipelineMetadata.sourceETag] == FileId.unquoted(put.etag!))
        try await pipeline.runIngest("events", name, IngestVerdict(status: .ingested, indexed: 3))
        let filed = try await pipeline.stack.s3.headObject(bucket: pipeline.stack.bucket, key: keys.processed)
        #expect(PipelineMetadata.size(filed.metadata) <= PipelineMetadata.sizeLimit)
        #expect(filed.metadata["provider-note"] == note && filed.metadata[PipelineMetadata.sourceETag] != nil)
    }

    @Test("A multipart upload through the dropbox and the ingest: its copy under in/ has the MD5 of its bytes for ETag, not the original's `…-2`; filed INGESTED")
    func multipartUpload() async throws {
        let pipeline = try await Pipeline()
        // 100,000 records (about 6 MiB), uploaded in two parts as the CLI and boto3 do above 8 MiB.
        var body: [UInt8] = []
        for i in 0..<100_000 { body += Array(#"{"event_id":\#(i),"note":"multipart upload of the dropbox"}"#.utf8) + [0x0A] }
        let name = "events/two-parts.jsonl"
        let upload = S3MultipartUpload(
            client: pipeline.stack.s3, bucket: pipeline.dropboxBucket, key: "received_files/\(name)",
            settings: S3MultipartUpload.Settings(partSize: 5 << 20))
        let put = try await upload.upload(HTTPBodyStream(bytes: body))
        let original = try #require(put.etag.map(FileId.unquoted))
        #expect(original.hasSuffix("-2"))
        let record = try await pipeline.runDropbox(name, etag: put.etag, size: Int64(body.count))
        try await pipeline.checkDropbox(name, record, .accepted)
        let keys = IngestKeys(dataset: "events", rest: name)
        let incoming = try await pipeline.stack.s3.headObject(bucket: pipeline.stack.bucket, key: keys.incoming)
        #expect(incoming.etag.map(FileId.unquoted) != original, "a CopyObject's ETag is the MD5 of the bytes")
        #expect(incoming.metadata[PipelineMetadata.sourceETag] == original)
        try await pipeline.runIngest("events", name, IngestVerdict(status: .ingested, indexed: 100_000))
    }

    @Test("100,000 nested brackets in a JSON line and in a JSON document: TooDeep, never a stack overflow")
    func deeplyNested() async throws {
        let pipeline = try await Pipeline()
        let brackets = [UInt8](repeating: UInt8(ascii: "["), count: 100_000)
        let line = Array(#"{"event_id":1,"deep":"#.utf8) + brackets + [0x0A]
        try await pipeline.run(
            "events/deep.jsonl", line, dropbox: .rejected(.unreadableSample),
            ingest: IngestVerdict(status: .failed, errorCode: "TooManyFailedRecords", recordErrors: ["TooDeep"], indexed: 0))
        let document = Array(#"{"results":[{"id":1},{"id":2,"deep":"#.utf8) + brackets
        try await pipeline.run(
            "docs/deep.json", document, dropbox: .rejected(.unreadableSample),
            ingest: IngestVerdict(
                status: .failed, errorCode: "DocumentTooDeep", recordErrors: ["DocumentTooDeep"], indexed: 1,
                reasonHolds: "nests deeper than"))
    }

    @Test("A gzip bomb (256 MiB of newlines in 256 KiB) stops at the expansion limit with a clear error")
    func gzipBomb() async throws {
        let pipeline = try await Pipeline()
        let deflater = try GzipDeflater(level: 9)
        var bomb = try deflater.update(Array(#"{"event_id":1}"#.utf8) + [0x0A])
        let newlines = [UInt8](repeating: 0x0A, count: 1 << 20)
        for _ in 0..<256 { try deflater.update(newlines, into: &bomb) }
        bomb += try deflater.finish()
        #expect(bomb.count < 1 << 20)
        let dropbox = try await pipeline.run(
            "events/bomb.jsonl.gz", bomb, dropbox: .rejected(.unreadableSample),
            ingest: IngestVerdict(
                status: .failed, errorCode: "SourceFailed", recordErrors: ["SourceFailed"], indexed: 1,
                reasonHolds: "GzipExpansionRatioExceeded"))
        #expect(dropbox.reason == "The file expands more than 400 times when decompressed, as only a gzip bomb does, so it is not read.")
    }
}

/// A 100 MB line generated as it is uploaded, dropped through both handlers while the process's peak
/// resident memory is watched.
@Suite("Hostile files through the handlers: the 100 MB line")
struct HostileHugeLineThroughHandlersTests {
    final class LineGenerator: @unchecked Sendable {
        private let lock = NSLock()
        private var produced: Int64 = 0
        let length: Int64
        private let head = Array(#"{"event_id":2,"pad":""#.utf8)
        private let first = Array("{\"event_id\":1}\n".utf8)
        private let last = Array("\"}\n{\"event_id\":3}\n".utf8)
        private let block = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)

        init(lineBytes: Int64) { length = Int64(first.count + head.count) + lineBytes + Int64(last.count) }

        func next() -> [UInt8]? {
            lock.lock()
            defer { lock.unlock() }
            if produced == length { return nil }
            var chunk: [UInt8] = []
            if produced == 0 { chunk = first + head }
            let padEnd = length - Int64(last.count)
            let pad = min(Int64(block.count - chunk.count), padEnd - produced - Int64(chunk.count))
            if pad > 0 { chunk += block[0..<Int(pad)] }
            if produced + Int64(chunk.count) == padEnd { chunk += last }
            produced += Int64(chunk.count)
            return chunk
        }
    }

    static func peakResidentBytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return (Int(line.filter(\.isNumber)) ?? 0) * 1024
    }

    @Test("BoundedMemory: a 100 MB single line is LineTooLong in the ingest, its neighbours indexed, PARTIAL")
    func hundredMegabyteLineBoundedMemory() async throws {
        let pipeline = try await HostileFilesThroughHandlersTests.Pipeline()
        let generator = LineGenerator(lineBytes: 100 << 20)
        // Resets VmHWM to the current RSS (Linux 4.0 and later), so that only the handlers count.
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        let before = Self.peakResidentBytes()
        try await pipeline.run(
            "events/huge-line.jsonl", length: generator.length, generate: { generator.next() }, dropbox: .accepted,
            ingest: HostileFilesThroughHandlersTests.IngestVerdict(
                status: .partial, errorCode: "SomeRecordsFailed", recordErrors: ["LineTooLong"], indexed: 2))
        let growth = Self.peakResidentBytes() - before
        print("peak resident memory grew by \(growth >> 20) MiB for a 100 MB line through both handlers")
        #expect(growth < 64 << 20, "peak resident memory grew by \(growth >> 20) MiB for a 100 MB line")
    }
}
