import AWSClients
import Foundation
import IngestHandler
import OpenSearchStandIn
import PipelineCore
import Primitives
import TestSupport
import Testing

/// An invocation that dies while filing: after the copy, before or beside the status write and the
/// source's deletion. The redelivery must end with the file's real counts, nothing indexed again.
@Suite("Ingest handler: an invocation that dies while filing its file")
struct IngestFilingRecoveryTests {
    /// The final status write (the only status write that sets `duration_ms`).
    static func isFinalStatusWrite(_ method: String, _ url: String, _ body: [UInt8]) -> Bool {
        body.firstRange(of: Array("\"duration_ms\"".utf8)) != nil
    }

    /// The handler of a redelivery that comes after the dead invocation's claim ran out: its
    /// status table's clock is an hour ahead (the dead one had 5 minutes).
    static func redelivery(_ stack: IngestTestStack) throws -> IngestObjectHandler<OpenSearchBulkSink> {
        let later = SystemClock().now().adding(milliseconds: 3_600_000)
        return try stack.handler(statusClock: ManualClock(later))
    }

    /// 120 records of May 2024 and one line that is not JSON.
    static let file = IngestHandlerTests.eventLines(0..<120) + Array("not json\n".utf8)

    /// Runs the handler over `stack` with its status table dying at the final status write.
    static func dieAtFinalStatusWrite(_ stack: IngestTestStack, key: String) async throws {
        let dying = TriggeredFaultTransport(base: IngestTestStack.transport, dies: true, trigger: isFinalStatusWrite)
        let handler = try stack.handler(statusOver: dying)
        let error = await #expect(throws: IngestError.self) {
            _ = try await handler.ingest(bucket: stack.bucket, key: key, context: IngestTestStack.context())
        }
        #expect(error?.code == .statusStore)
        #expect(dying.failed >= 1)
    }

    @Test("Died at the status write: the filed copy carries the counts, and the redelivery records them without reading again")
    func diedBeforeStatusWrite() async throws {
        let stack = try await IngestTestStack()
        let put = try await stack.s3.putObject(bucket: stack.bucket, key: "in/events/cut.jsonl", body: Self.file)
        try await Self.dieAtFinalStatusWrite(stack, key: "in/events/cut.jsonl")
        // Filed, deleted from in/, but the status row still says INGESTING, with no counts saved.
        #expect(try await !stack.exists("in/events/cut.jsonl"))
        let filed = try await stack.s3.headObject(bucket: stack.bucket, key: "processed/events/cut.jsonl")
        #expect(filed.metadata["pipeline-records"] == "121" && filed.metadata["pipeline-indexed"] == "120")
        #expect(filed.metadata["pipeline-failed"] == "1" && filed.metadata["pipeline-index-names"] == "events-2024.05")
        let fileId = try #require(try await stack.status.history(fileName: "cut.jsonl").first?.fileId)
        let cut = try #require(try await stack.statusRecord(fileId))
        #expect(cut.status == .ingesting && cut.records == nil && cut.progressOffset == nil)
        let bulkRequests = stack.standIn.stats.bulkRequests

        // The redelivery, after the dead invocation's claim ran out: the copy tells the rest.
        let result = try await Self.redelivery(stack).ingest(
            bucket: stack.bucket, key: "in/events/cut.jsonl", eventETag: put.etag, context: IngestTestStack.context())
        let outcome = try #require(result.outcome)
        #expect(outcome.status == .partial && outcome.destinationKey == "processed/events/cut.jsonl")
        #expect(outcome.records == 121 && outcome.indexed == 120 && outcome.failed == 1)
        #expect(outcome.indexNames == ["events-2024.05"])
        let record = try #require(try await stack.statusRecord(fileId))
        #expect(record.status == .partial && record.records == 121 && record.indexed == 120 && record.failed == 1)
        #expect(record.indexNames == ["events-2024.05"] && record.attempt == 2)
        #expect(stack.standIn.stats.bulkRequests == bulkRequests)
        #expect(try await stack.count("events-2024.05") == 120)
    }

    @Test("A key too long for the counts in S3's 2 KB of metadata: they are saved in the status row before the move and recovered from it")
    func countsTooLargeForMetadata() async throws {
        let stack = try await IngestTestStack()
        // The file id and the source key each hold the name: with a name of 896 bytes the pipeline's
        // metadata takes 1,951 of S3's 2,048 bytes, and the counts (105 bytes here) do not fit beside it.
        let name = String(repeating: "n", count: 890) + ".jsonl"
        let key = "in/events/" + name
        let put = try await stack.s3.putObject(bucket: stack.bucket, key: key, body: Self.file)
        try await Self.dieAtFinalStatusWrite(stack, key: key)
        let filed = try await stack.s3.headObject(bucket: stack.bucket, key: "processed/events/" + name)
        #expect(filed.metadata["pipeline-records"] == nil && filed.metadata["pipeline-file-id"] != nil)
        #expect(PipelineMetadata.size(filed.metadata) <= PipelineMetadata.sizeLimit)
        let fileId = try #require(try await stack.status.history(fileName: name).first?.fileId)
        let cut = try #require(try await stack.statusRecord(fileId))
        #expect(cut.status == .ingesting && cut.records == 121 && cut.indexed == 120 && cut.failed == 1)
        #expect(cut.indexNames == ["events-2024.05"])

        let result = try await Self.redelivery(stack).ingest(
            bucket: stack.bucket, key: key, eventETag: put.etag, context: IngestTestStack.context())
        let outcome = try #require(result.outcome)
        #expect(outcome.status == .partial && outcome.records == 121 && outcome.indexed == 120 && outcome.failed == 1)
        let record = try #require(try await stack.statusRecord(fileId))
        #expect(record.status == .partial && record.records == 121 && record.indexNames == ["events-2024.05"])
        #expect(try await stack.count("events-2024.05") == 120)
    }

    @Test("A key so long that the file id is left off the copy, of a multipart original: the redelivery finishes the file's own row")
    func fileIdLeftOff() async throws {
        // moto's signature checker wrongly rejects non-ASCII keys: it is off here.
        let stack = try await IngestTestStack(auth: false)
        // 702 bytes of name: percent-encoded, the file id alone is over S3's 2 KB of metadata.
        let name = String(repeating: "データ", count: 78) + ".jsonl"
        let key = "in/events/" + name
        let original = "0123456789abcdef0123456789abcdef-2"
        let put = try await stack.s3.putObject(
            bucket: stack.bucket, key: key, body: Self.file, metadata: [PipelineMetadata.sourceETag: original])
        try await Self.dieAtFinalStatusWrite(stack, key: key)
        let filed = try await stack.s3.headObject(bucket: stack.bucket, key: "processed/events/" + name)
        #expect(filed.metadata[PipelineMetadata.fileId] == nil && PipelineMetadata.size(filed.metadata) <= PipelineMetadata.sizeLimit)
        let fileId = FileId.make(dataset: "events", relativePath: name, etag: original, versionId: nil)
        #expect(try await stack.statusRecord(fileId)?.status == .ingesting)

        let result = try await Self.redelivery(stack).ingest(
            bucket: stack.bucket, key: key, eventETag: put.etag, context: IngestTestStack.context())
        #expect(result.outcome?.fileId == fileId)
        let record = try #require(try await stack.statusRecord(fileId))
        #expect(record.status == .partial && record.records == 121 && record.indexed == 120)
        // One ingest row for the file: none left behind in INGESTING.
        #expect(try await stack.status.history(fileName: name).filter { $0.stage == .ingest }.map(\.fileId) == [fileId])
    }

    @Test("Deleting the source fails beside a final status: the record fails without touching the status; the redelivery removes the source")
    func sourceLeftBesideFinalStatus() async throws {
        let stack = try await IngestTestStack()
        // As the dropbox leaves it: the original's ETag in the metadata, here a multipart upload's
        // (`…-2`), which is not the ETag of the copy under in/.
        let put = try await stack.s3.putObject(
            bucket: stack.bucket, key: "in/events/left.jsonl", body: Self.file,
            metadata: [PipelineMetadata.sourceETag: "0123456789abcdef0123456789abcdef-2"])
        let refusing = TriggeredFaultTransport(base: IngestTestStack.transport, dies: false) { method, url, _ in
            method == "DELETE" && url.contains("/in/events/left.jsonl")
        }
        let error = await #expect(throws: IngestError.self) {
            _ = try await stack.handler(movesOver: refusing).ingest(
                bucket: stack.bucket, key: "in/events/left.jsonl", eventETag: put.etag, context: IngestTestStack.context())
        }
        #expect(error?.code == .sourceLeft)
        #expect(refusing.failed >= 1)
        let fileId = try #require(try await stack.status.history(fileName: "left.jsonl").first?.fileId)
        let done = try #require(try await stack.statusRecord(fileId))
        #expect(done.status == .partial && done.records == 121 && done.errorCode == "SomeRecordsFailed")
        #expect(try await stack.exists("in/events/left.jsonl"))
        #expect(try await stack.exists("processed/events/left.jsonl"))

        let again = try await stack.handler().ingest(
            bucket: stack.bucket, key: "in/events/left.jsonl", eventETag: put.etag, context: IngestTestStack.context())
        #expect(again == .alreadyDone(.partial))
        #expect(try await !stack.exists("in/events/left.jsonl"))
        #expect(try await stack.statusRecord(fileId) == done)
        #expect(try await stack.count("events-2024.05") == 120)
    }
}
