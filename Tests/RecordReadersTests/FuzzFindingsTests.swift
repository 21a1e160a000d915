import PipelineSettings
import RecordReaders
import Testing

/// Inputs `scripts/fuzz.sh` found crashing the readers, minimised and kept as fixtures
/// (`Fixtures/fuzz/`, the file without the harness's settings byte). Each must now end as the
/// readers' rules say, read in any chunking.
@Suite("Inputs found by fuzzing")
struct FuzzFindingsTests {
    @Test("JSON lines: a timestamp in the year 5867 (past Int64 nanoseconds) is WrongType, not a trap")
    func timestampPastInt64Nanoseconds() async throws {
        let result = try await readEveryWay(try fixtureBytes("fuzz/timestamp-year-5867.jsonl"), dataset: try dataset("orders"))
        #expect(result.fileError == nil)
        #expect(result.codes == [.wrongType])
        #expect(result.errors.first?.field == "created_at")
        #expect(result.errors.first?.reason.contains("should be an ISO 8601 timestamp") == true)
    }

    @Test("CSV: a reading_at cell in the year 9132 is a record error, not a trap")
    func csvTimestampPastInt64Nanoseconds() async throws {
        let result = try await readEveryWay(try fixtureBytes("fuzz/timestamp-year-9132.csv"), dataset: try dataset("readings"))
        #expect(result.fileError == nil)
        #expect(result.items.count == 1)
        #expect(result.codes == [.wrongType])
        #expect(result.errors.first?.field == "reading_at")
    }

    @Test("JSON document: a date in the year 1012 is WrongType; the cut-off document then ends the file")
    func dateBeforeInt64Nanoseconds() async throws {
        let result = try await readEveryWay(try fixtureBytes("fuzz/date-year-1012.json"), dataset: try dataset("ukhsa_timeseries"))
        #expect(result.codes == [.wrongType])
        #expect(result.errors.first?.field == "date")
        #expect(result.fileError?.code == .truncated)
    }

    /// Reads `fixture` in chunks of 1, 7 and 4096 bytes and whole (they must agree), then resumes
    /// after every record with chunks of 1, 7 and 128 bytes (the records after it must come back).
    func checkChunkingAndResumption(_ fixture: String, options: ReaderOptions) async throws -> ReadResult {
        let bytes = try fixtureBytes(fixture)
        let readings = try dataset("readings")
        let whole = try await readEveryWay(bytes, dataset: readings, options: options)
        var options = options
        options.csvHeader = whole.csvHeader
        for (index, item) in whole.items.enumerated() {
            for size in [1, 7, 128] {
                let resumed = await read(
                    Array(bytes[Int(item.endOffset)...]), dataset: readings, options: options, chunkSize: size, start: item.next)
                #expect(
                    resumed.transcript == Array(whole.transcript[(index + 1)...]),
                    "resumed after record \(item.number), chunks of \(size)")
            }
        }
        return whole
    }

    /// The harness's settings byte was 0x5b: 128-byte chunks, a 64-byte row limit, a sample (prefix).
    static var harnessOptions: ReaderOptions {
        var options = ReaderOptions()
        options.maxRecordBytes = 64
        options.inputIsPrefix = true
        return options
    }

    @Test("CSV: a row of exactly the row limit before its CR LF ends where it ends however the stream is cut, and on resumption")
    func rowAtTheLimitIndependentOfChunks() async throws {
        let whole = try await checkChunkingAndResumption("fuzz/row-at-limit-after-crlf.csv", options: Self.harnessOptions)
        #expect(whole.fileError == nil)
        #expect(whole.transcript.map { $0.split(separator: " ").prefix(2).joined(separator: " ") } == ["1 15-57", "2 57-63", "3 63-129"])
        #expect(whole.codes == [.csvFieldCount, .csvFieldCount, .csvFieldCount])
    }

    @Test("CSV: a row past the limit whose quoted cell held a line break is skipped to the same line end however the stream is cut")
    func longRowPastQuotedLineBreakIndependentOfChunks() async throws {
        let whole = try await checkChunkingAndResumption("fuzz/long-row-past-quoted-line-break.csv", options: Self.harnessOptions)
        #expect(whole.fileError == nil)
        // The quote opened at byte 31 is still open at the 66-byte window's end, so row 2 runs to the
        // first line break after the window (byte 99), not to one inside the quoted cell.
        #expect(whole.transcript == ["1 15-31 CSVFieldCount", "2 31-100 LineTooLong", "3 100-112 InvalidUTF8", "4 112-129 CSVFieldCount"])
    }

    @Test("CSV: a quote left open whose line break had not arrived yet is UnbalancedQuote from the row's start, as when it had")
    func openQuoteWithLineBreakNotYetBuffered() async throws {
        let whole = try await checkChunkingAndResumption("fuzz/open-quote-line-break-not-buffered.csv", options: Self.harnessOptions)
        #expect(whole.fileError == nil)
        #expect(whole.codes.allSatisfy { $0 == .unbalancedQuote || $0 == .csvFieldCount })
        // No gap: each row starts where the one before it ended.
        for (previous, next) in zip(whole.items, whole.items.dropFirst()) { #expect(next.startOffset == previous.endOffset) }
    }

    @Test("JSON document: a record past a row limit below 64 KiB is RecordTooLong, not an out-of-bounds read")
    func recordTooLongBelowRawLimit() async throws {
        // The harness's settings were a 64-byte record limit and a depth limit of 4, 64-byte chunks, the root array.
        var options = ReaderOptions()
        options.maxRecordBytes = 64
        options.maxDepth = 4
        let result = try await readEveryWay(
            try fixtureBytes("fuzz/record-too-long-below-raw-limit.json"), dataset: try rootArrayDataset(), options: options)
        #expect(result.codes == [.recordTooLong])
        let item = try #require(result.items.first)
        if case .failure(_, let raw, _) = item.outcome {
            // The whole record is kept (it is shorter than RecordItem.rawLimit), and nothing past it.
            #expect(Int64(raw.count) == item.endOffset - item.startOffset)
        }
        #expect(result.fileError?.code == .truncated)
    }
}
