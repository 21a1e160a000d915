import AWSClients
import Foundation
import Gzip
import IngestHandler
import JSONCodec
import LambdaRuntime
import OpenSearchStandIn
import PipelineCore
import PipelineSettings
import Primitives
import Testing

@Suite("Ingest handler against moto and the OpenSearch stand-in")
struct IngestHandlerTests {
    static func eventLines(_ range: Range<Int>, month: String = "2024-05") -> [UInt8] {
        var out = ""
        for i in range {
            out += #"{"event_id":\#(i),"created_at":"\#(month)-0\#(1 + i % 9)T10:00:00Z","city":"Leeds","amount":\#(i * 3)}"# + "\n"
        }
        return Array(out.utf8)
    }

    @Test("JSON lines: every record indexed under its month's index, the file filed under processed/, status INGESTED")
    func jsonLinesIngested() async throws {
        let stack = try await IngestTestStack()
        try await stack.put("in/events/day1.jsonl", Self.eventLines(0..<250))
        let result = try await stack.handler().ingest(bucket: stack.bucket, key: "in/events/day1.jsonl", context: IngestTestStack.context())
        let outcome = try #require(result.outcome)
        #expect(outcome.status == .ingested)
        #expect(outcome.records == 250 && outcome.indexed == 250 && outcome.failed == 0)
        #expect(outcome.indexNames == ["events-2024.05"])
        #expect(try await stack.count("events-2024.05") == 250)
        #expect(try await !stack.exists("in/events/day1.jsonl"))
        #expect(try await stack.exists("processed/events/day1.jsonl"))
        #expect(try await !stack.exists("failed/events/day1.jsonl.errors.jsonl"))
        let record = try #require(try await stack.statusRecord(outcome.fileId))
        #expect(record.status == .ingested && record.records == 250 && record.indexed == 250 && record.failed == 0)
        #expect(record.indexNames == ["events-2024.05"] && record.bytes == Int64(Self.eventLines(0..<250).count))
        let doc = try #require(try await stack.openSearch.document(index: "events-2024.05", id: "17"))
        #expect(doc.source["amount"]?.intValue == 51)
    }

    @Test("A warm process checks an index once a minute: the next file into it makes no index request; a minute later one HEAD")
    func indexCheckedOncePerMinute() async throws {
        let stack = try await IngestTestStack()
        let clock = ManualClock(SystemClock().now())
        let sink = OpenSearchBulkSink(indexer: stack.sink.indexer, clock: clock)
        let handler = stack.handler(sink: sink)
        func ingest(_ name: String) async throws -> Int {
            let before = stack.standIn.stats
            try await stack.put("in/events/\(name)", Self.eventLines(0..<20))
            let result = try await handler.ingest(bucket: stack.bucket, key: "in/events/\(name)", context: IngestTestStack.context())
            #expect(result.outcome?.status == .ingested)
            let after = stack.standIn.stats
            // Requests other than the bulk ones: the index check (HEAD) and its creation (PUT).
            return (after.requests - after.bulkRequests) - (before.requests - before.bulkRequests)
        }
        #expect(try await ingest("a.jsonl") == 2)
        #expect(try await ingest("b.jsonl") == 0)
        clock.advance(seconds: 61)
        #expect(try await ingest("c.jsonl") == 1)
        #expect(try await stack.count("events-2024.05") == 20)
    }

    @Test("A multipart upload as S3 copies it into in/ (the original's `…-N` ETag in the metadata, the copy's own an MD5): indexed and filed")
    func multipartOriginal() async throws {
        let stack = try await IngestTestStack()
        // A copy of a multipart upload gets the MD5 of its bytes; the dropbox records the
        // original's ETag in pipeline-source-etag: here the two differ, as they then do.
        let original = "0123456789abcdef0123456789abcdef-3"
        let put = try await stack.s3.putObject(
            bucket: stack.bucket, key: "in/events/big.jsonl", body: Self.eventLines(0..<30), metadata: [PipelineMetadata.sourceETag: original])
        let result = try await stack.handler().ingest(
            bucket: stack.bucket, key: "in/events/big.jsonl", eventETag: put.etag, context: IngestTestStack.context())
        let outcome = try #require(result.outcome)
        #expect(outcome.status == .ingested && outcome.indexed == 30 && outcome.destinationKey == "processed/events/big.jsonl")
        // The file keeps the identity the dropbox gave it (from the original's ETag).
        #expect(outcome.fileId == "events/big.jsonl@\(original)")
        #expect(try await !stack.exists("in/events/big.jsonl"))
        let filed = try await stack.s3.headObject(bucket: stack.bucket, key: "processed/events/big.jsonl")
        #expect(filed.metadata[PipelineMetadata.sourceETag] == FileId.unquoted(put.etag!))
        // The same event again: already done, nothing left to do.
        let again = try await stack.handler().ingest(
            bucket: stack.bucket, key: "in/events/big.jsonl", eventETag: put.etag, context: IngestTestStack.context())
        #expect(again == .alreadyDone(.ingested))
    }

    @Test("Duplicate delivery: the second event is acknowledged without indexing again; document count unchanged")
    func duplicateDelivery() async throws {
        let stack = try await IngestTestStack()
        let put = try await stack.s3.putObject(bucket: stack.bucket, key: "in/events/dup.jsonl", body: Self.eventLines(0..<40))
        let handler = stack.handler()
        let first = try await handler.ingest(
            bucket: stack.bucket, key: "in/events/dup.jsonl", eventETag: put.etag, context: IngestTestStack.context())
        #expect(first.outcome?.status == .ingested)
        let requestsBefore = stack.standIn.stats.bulkRequests
        // The same event again (SQS delivers at least once), after the file was filed.
        let second = try await handler.ingest(
            bucket: stack.bucket, key: "in/events/dup.jsonl", eventETag: put.etag, context: IngestTestStack.context())
        #expect(second == .alreadyDone(.ingested))
        // An event without an ETag for a file that is gone: nothing to do.
        let third = try await handler.ingest(bucket: stack.bucket, key: "in/events/other.jsonl", context: IngestTestStack.context())
        #expect(third == .ignored("in/events/other.jsonl no longer exists"))
        #expect(stack.standIn.stats.bulkRequests == requestsBefore)
        #expect(try await stack.count("events-2024.05") == 40)
    }

    @Test("An event from another bucket is refused: logged with its code and counted, nothing read, indexed, moved or recorded")
    func foreignBucketRefused() async throws {
        let stack = try await IngestTestStack()
        let other = "other-\(UUID().uuidString.lowercased().prefix(10))"
        try await stack.s3.createBucket(other)
        let put = try await stack.s3.putObject(bucket: other, key: "in/events/foreign.jsonl", body: Self.eventLines(0..<5))
        let logs = MemoryLogSink()
        let context = IngestTestStack.context(logs: logs)
        let requestsBefore = stack.standIn.stats.requests
        let disposition = try await stack.handler().ingest(
            bucket: other, key: "in/events/foreign.jsonl", eventETag: put.etag, context: context)
        #expect(disposition == .ignored("bucket \(other) is not the ingest bucket"))
        let warning = try #require(logs.lines.compactMap { try? JSONParser.parse($0) }.first { $0["code"]?.stringValue == "ForeignBucket" })
        #expect(warning["level"]?.stringValue == "WARN")
        #expect(warning["bucket"]?.stringValue == other)
        #expect(context.metrics.pendingMetrics.filter { $0.name == "ForeignBucketEvents" }.flatMap(\.values) == [1])
        #expect(stack.standIn.stats.requests == requestsBefore)
        #expect((try? await stack.s3.headObject(bucket: other, key: "in/events/foreign.jsonl")) != nil)
        #expect((try? await stack.s3.headObject(bucket: other, key: "processed/events/foreign.jsonl")) == nil)
        #expect(try await stack.exists("processed/events/foreign.jsonl") == false)
        let fileId = FileId.make(dataset: "events", relativePath: "foreign.jsonl", etag: put.etag.map(FileId.unquoted), versionId: nil)
        #expect(try await stack.statusRecord(fileId) == nil)
    }

    @Test("A gzip CSV with CRLF, quotes and a blank line: typed columns indexed, a bad cell in the errors object, PARTIAL")
    func gzipCSV() async throws {
        let stack = try await IngestTestStack()
        let csv = try IngestTestStack.fixture("readings.csv")
        try await stack.put("in/readings/march.csv.gz", try Gzip.compress(csv))
        let result = try await stack.handler().ingest(bucket: stack.bucket, key: "in/readings/march.csv.gz", context: IngestTestStack.context())
        let outcome = try #require(result.outcome)
        #expect(outcome.status == .partial)
        #expect(outcome.records == 4 && outcome.indexed == 3 && outcome.failed == 1)
        #expect(try await stack.count("readings-leeds") == 2)
        #expect(try await stack.count("readings-york") == 1)
        let leeds = try #require(try await stack.openSearch.document(index: "readings-leeds", id: "leeds:2"))
        #expect(leeds.source["temperature_c"]?.doubleValue == 8.25)
        #expect(leeds.source["ok"] == .bool(true))
        #expect(leeds.source["note"]?.stringValue == #"said "hello""#)
        let lines = try await stack.errorLines("failed/readings/march.csv.gz.errors.jsonl")
        #expect(lines.count == 1)
        #expect(lines.first?["record"]?.intValue == 4)
        #expect(lines.first?["stage"]?.stringValue == "parse")
        #expect(lines.first?["error_code"]?.stringValue == "WrongType")
        #expect(try await stack.exists("processed/readings/march.csv.gz"))
    }

    @Test("UKHSA timeseries document: parent fields merged into each result, ids from metric, geography and date")
    func ukhsaTimeseries() async throws {
        let stack = try await IngestTestStack()
        try await stack.put("in/ukhsa/covid_cases.json", try IngestTestStack.fixture("ukhsa_timeseries.json"))
        let result = try await stack.handler().ingest(bucket: stack.bucket, key: "in/ukhsa/covid_cases.json", context: IngestTestStack.context())
        let outcome = try #require(result.outcome)
        #expect(outcome.status == .ingested && outcome.indexed == 4)
        #expect(outcome.indexNames == ["ukhsa-covid-19_cases_casesbyday-2023", "ukhsa-covid-19_cases_casesbyday-2024"])
        #expect(try await stack.count("ukhsa-covid-19_cases_casesbyday-2024") == 2)
        let doc = try #require(
            try await stack.openSearch.document(index: "ukhsa-covid-19_cases_casesbyday-2024", id: "COVID-19_cases_casesByDay:England:2024-01-02"))
        #expect(doc.source["theme"]?.stringValue == "infectious_disease")
        #expect(doc.source["metric_value"]?.doubleValue == 1650.5)
    }

    @Test("Bad input by rule: BOM, CRLF, blank lines, invalid UTF-8, invalid JSON, a missing field and a 10 MB line")
    func badInputByRule() async throws {
        let stack = try await IngestTestStack()
        var bytes: [UInt8] = [0xEF, 0xBB, 0xBF]
        bytes += Array(#"{"event_id":1,"created_at":"2024-05-01T00:00:00Z"}"#.utf8) + [0x0D, 0x0A]
        bytes += [0x0A, 0x0D, 0x0A]  // blank lines
        bytes += Array(#"{"event_id":2,"created_at":"2024-05-01T00:00:00Z","name":""#.utf8) + [0xC3, 0x28] + Array("\"}\n".utf8)
        bytes += Array("{not json}\n".utf8)
        bytes += Array(#"{"created_at":"2024-05-01T00:00:00Z"}"#.utf8) + [0x0A]
        bytes += Array(#"{"event_id":3,"created_at":"2024-05-01T00:00:00Z","pad":""#.utf8) + [UInt8](repeating: 0x61, count: 10 << 20)
            + Array("\"}\n".utf8)
        bytes += Array(#"{"event_id":4,"created_at":"2024-05-02T00:00:00Z"}"#.utf8)  // no final newline
        try await stack.put("in/events/bad.jsonl", bytes)
        let result = try await stack.handler().ingest(bucket: stack.bucket, key: "in/events/bad.jsonl", context: IngestTestStack.context())
        let outcome = try #require(result.outcome)
        #expect(outcome.records == 6 && outcome.indexed == 2 && outcome.failed == 4)
        #expect(outcome.status == .failed)  // 4 of 6 is more than the dataset's 0.5
        let lines = try await stack.errorLines("failed/events/bad.jsonl.errors.jsonl")
        #expect(lines.compactMap { $0["error_code"]?.stringValue } == ["InvalidUTF8", "InvalidJSON", "MissingField", "LineTooLong"])
        #expect(lines.compactMap { $0["record"]?.intValue } == [2, 3, 4, 5])
        #expect(try await stack.exists("failed/events/bad.jsonl"))
        #expect(try await stack.count("events-2024.05") == 2)
        #expect(Set(try await stack.openSearch.search("events-2024.05", size: 10).hits.map(\.id)) == ["1", "4"])
    }

    @Test("A truncated gzip stream: the file is FAILED with the reason, records before the cut are kept")
    func truncatedGzip() async throws {
        let stack = try await IngestTestStack()
        let whole = try Gzip.compress(Self.eventLines(0..<2000))
        try await stack.put("in/events/cut.jsonl.gz", Array(whole.prefix(whole.count * 2 / 3)))
        let result = try await stack.handler().ingest(bucket: stack.bucket, key: "in/events/cut.jsonl.gz", context: IngestTestStack.context())
        let outcome = try #require(result.outcome)
        #expect(outcome.status == .failed)
        #expect(outcome.errorCode == "SourceFailed")
        #expect(outcome.reason?.contains("gzip") == true)
        #expect(outcome.indexed > 0 && outcome.indexed < 2000)
        #expect(try await stack.exists("failed/events/cut.jsonl.gz"))
        let record = try #require(try await stack.statusRecord(outcome.fileId))
        #expect(record.status == .failed && record.reason == outcome.reason)
    }

    @Test(
        "Mapping conflicts from OpenSearch land in the errors object with their _id; the rest is indexed (lean or whole answers)",
        arguments: ["true", "false"])
    func mappingConflicts(leanAnswers: String) async throws {
        let stack = try await IngestTestStack(extra: ["BULK_LEAN_ANSWERS": leanAnswers])
        var text = ""
        for i in 0..<30 { text += #"{"id":"r\#(i)","amount":\#(i % 10 == 3 ? "\"lots\"" : String(i))}"# + "\n" }
        try await stack.put("in/typed/amounts.jsonl", Array(text.utf8))
        let result = try await stack.handler().ingest(bucket: stack.bucket, key: "in/typed/amounts.jsonl", context: IngestTestStack.context())
        let outcome = try #require(result.outcome)
        #expect(outcome.status == .partial && outcome.indexed == 27 && outcome.failed == 3)
        let lines = try await stack.errorLines("failed/typed/amounts.jsonl.errors.jsonl")
        #expect(lines.compactMap { $0["_id"]?.stringValue }.sorted() == ["r13", "r23", "r3"])
        #expect(lines.allSatisfy { $0["stage"]?.stringValue == "index" && $0["error_code"]?.stringValue == "mapper_parsing_exception" })
        #expect(try await stack.count("typed") == 27)
        // The setting reaches the bulk requests: the stand-in shaped its answers, or did not.
        let filtered = stack.standIn.stats.filteredBulkAnswers
        #expect(leanAnswers == "true" ? filtered > 0 : filtered == 0)
    }

    @Test("BULK_LEAN_ANSWERS must be a boolean; the error names it")
    func leanAnswersSetting() async throws {
        let stack = try await IngestTestStack()
        var environment = stack.environment
        environment["BULK_LEAN_ANSWERS"] = "sometimes"
        #expect { try IngestSettings(SettingsReader(Environment(environment))) } throws: {
            ($0 as? SettingsError)?.setting == "BULK_LEAN_ANSWERS"
        }
        #expect(stack.settings.bulk.answerFilter == BulkSettings.leanAnswer)
    }

    @Test("A 429 storm (whole requests and items) loses nothing and duplicates nothing")
    func rejectionStorm() async throws {
        let stack = try await IngestTestStack(
            faults: FaultSettings(requestRejectionRate: 0.3, itemRejectionRate: 0.2, seed: 42), extra: ["CHUNK_SIZE_MB": "0.02"])
        try await stack.put("in/events/storm.jsonl", Self.eventLines(0..<1500))
        let result = try await stack.handler().ingest(bucket: stack.bucket, key: "in/events/storm.jsonl", context: IngestTestStack.context())
        let outcome = try #require(result.outcome)
        #expect(outcome.status == .ingested && outcome.indexed == 1500)
        #expect(stack.standIn.stats.injectedItemRejections > 0 && stack.standIn.stats.injectedRequestFailures > 0)
        #expect(try await stack.count("events-2024.05") == 1500)
        #expect(stack.standIn.documentIDs(in: "events-2024.05").count == 1500)
    }

    @Test("A deadline mid-file saves progress and fails the record; the redelivery resumes and ends INGESTED with the exact count")
    func deadlineResume() async throws {
        let stack = try await IngestTestStack(extra: ["CHUNK_SIZE_MB": "0.05", "GENERATE_IDS": "true"])
        // The first 100 records are April's: only the first attempt writes to that month's index.
        var text = Self.eventLines(0..<100, month: "2024-04") + Self.eventLines(100..<6000)
        // Records that fail before and after the stop, to check errors are neither lost nor doubled.
        text += Array("oops 1\n".utf8) + Self.eventLines(6000..<6010) + Array("oops 2\n".utf8)
        try await stack.put("in/events/big.jsonl", text)
        // A slow cluster, so that the short deadline falls inside the file.
        let handler = stack.handler(sink: SlowSink(base: stack.sink, delay: .milliseconds(250)))
        var stoppedAt: Int?
        var attempts = 0
        var final: IngestOutcome?
        while final == nil, attempts < 20 {
            attempts += 1
            // The first attempt gets 1.4 s of which 1 s is the margin; later ones get plenty.
            let context = IngestTestStack.context(timeLeft: attempts == 1 ? .milliseconds(1400) : .seconds(300))
            do {
                final = try await handler.ingest(bucket: stack.bucket, key: "in/events/big.jsonl", context: context).outcome
            } catch {
                guard error.code == .deadlineReached else { throw error }
                // Progress is saved: the batch asks SQS for the message back at once.
                #expect(error.redeliverAfter == .zero)
                let fileId = try #require(try await stack.status.history(fileName: "big.jsonl").first?.fileId)
                let record = try #require(try await stack.statusRecord(fileId))
                #expect(record.status == .ingesting)
                stoppedAt = record.progressRecord
            }
        }
        let outcome = try #require(final)
        #expect(stoppedAt != nil && stoppedAt! > 1 && stoppedAt! < 6012)
        #expect(outcome.status == .partial)
        #expect(outcome.records == 6012 && outcome.indexed == 6010 && outcome.failed == 2)
        #expect(outcome.indexNames == ["events-2024.04", "events-2024.05"])
        #expect(try await stack.count("events-2024.04") == 100)
        #expect(try await stack.count("events-2024.05") == 5910)
        let lines = try await stack.errorLines("failed/events/big.jsonl.errors.jsonl")
        #expect(lines.compactMap { $0["record"]?.intValue } == [6001, 6012])
        let record = try #require(try await stack.statusRecord(outcome.fileId))
        #expect(record.status == .partial && record.attempt >= 2 && record.indexed == 6010)
        #expect(record.indexNames == ["events-2024.04", "events-2024.05"])
    }
}
