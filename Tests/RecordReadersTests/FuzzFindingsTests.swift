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
}
