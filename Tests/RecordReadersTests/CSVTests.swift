import JSONCodec
import PipelineSettings
import RecordReaders
import Testing

@Suite("CSV")
struct CSVTests {
    @Test("Cells are converted by the dataset's field types; empty cells are null")
    func typedColumns() async throws {
        let result = try await readEveryWay(try fixtureBytes("readings.csv"), dataset: try dataset("readings"))
        #expect(result.fileError == nil)
        #expect(result.csvHeader == ["station", "reading_at", "value", "count", "ok", "day"])
        #expect(
            result.documents == [
                #"{"station":"st-1","reading_at":"2024-05-01T00:00:00Z","value":1.5,"count":3,"ok":true,"day":"2024-05-01"}"#,
                #"{"station":"st-2","reading_at":"2024-05-01T01:00:00Z","value":-0.25,"count":0,"ok":false,"day":"2024-05-02"}"#,
                #"{"station":"st-3","reading_at":"2024-05-01T02:00:00Z","value":null,"count":null,"ok":null,"day":null}"#,
            ])
        // Every document is valid JSON, and the extracted fields agree with it.
        for record in result.records {
            let object = try record.object()
            #expect(record.fields["station"]?.json == object["station"])
            #expect(record.fields["value"]?.json == object["value"])
        }
        #expect(result.items.map(\.number) == [1, 2, 3])
        // The header is no record: the first record starts after it.
        #expect(result.items[0].startOffset == 39)
    }

    @Test("RFC 4180 quoting: delimiters, doubled quotes and line breaks in quoted cells; BOM; CRLF; blank lines")
    func quoting() async throws {
        let result = try await readEveryWay(try fixtureBytes("edge.csv"), dataset: try dataset("edge"))
        #expect(result.fileError == nil)
        #expect(result.summary.skippedByteOrderMark)
        #expect(result.summary.blankLines == 1)
        let objects = try result.records.map { try $0.object() }
        #expect(objects.count == 4)
        #expect(objects[0]["name"] == .string("Smith, John"))
        #expect(objects[0]["comment"] == .string("said \"hi\"\nthen left"))
        #expect(objects[1]["comment"] == .string("5\" screen"))
        #expect(objects[2]["name"] == .string(""))
        #expect(objects[2]["comment"] == .string("quoted, with \"quotes\" and\r\nCRLF inside"))
        #expect(objects[3]["name"] == .string("é ünïcode"))
        #expect(objects[3]["comment"] == .string("tab\there"))
        await checkResumeFromEveryRecord(try fixtureBytes("edge.csv"), dataset: try dataset("edge"), whole: result)
    }

    @Test("Another delimiter splits cells; quoted cells may hold it")
    func otherDelimiter() async throws {
        let result = await read(try fixtureBytes("semicolon.csv"), dataset: try dataset("semicolon"))
        #expect(result.documents == [#"{"a":"x;y","b":"2"}"#])
    }

    @Test("A row with the wrong number of cells is csvFieldCount, naming both counts")
    func fieldCount() async throws {
        let result = try await readEveryWay(try fixtureBytes("field_count.csv"), dataset: try dataset("edge"))
        #expect(result.items.map { $0.error?.code.rawValue ?? "ok" } == ["ok", "CSVFieldCount", "CSVFieldCount", "ok"])
        #expect(result.errors[0].reason == "row has 4 cells, the header has 3")
    }

    @Test("Unbalanced quotes: text after a closing quote, and a quote left open to the end, fail one row each")
    func unbalancedQuotes() async throws {
        let text = try await readEveryWay(try fixtureBytes("unbalanced.csv"), dataset: try dataset("edge"))
        #expect(text.items.map { $0.error?.code.rawValue ?? "ok" } == ["ok", "UnbalancedQuote", "ok"])
        #expect(text.records.last.map { $0.text } == #"{"id":"5","name":"f","comment":"g"}"#)
        let open = try await readEveryWay(try fixtureBytes("unclosed_quote_eof.csv"), dataset: try dataset("edge"))
        #expect(open.items.map { $0.error?.code.rawValue ?? "ok" } == ["ok", "UnbalancedQuote", "ok", "ok"])
        #expect(open.documents == [#"{"id":"1","name":"a"}"#, #"{"id":"3","name":"b"}"#, #"{"id":"4","name":"c"}"#])
        #expect(open.items[1].startOffset == 12)
        #expect(open.items[1].endOffset == 20)
    }

    @Test("An open quote that runs past the row limit fails its line and reading resumes on the next")
    func openQuotePastLimit() async throws {
        var text = "id,name\n1,\"open\n"
        for k in 2...400 { text += "\(k),row\n" }
        var options = ReaderOptions()
        options.maxRecordBytes = 1000
        let result = await read(Array(text.utf8), dataset: try dataset("edge"), options: options, chunkSize: 64)
        #expect(result.items.first?.error?.code == .unbalancedQuote)
        #expect(result.records.count == 399)
        #expect(result.records.first?.text == #"{"id":"2","name":"row"}"#)
    }

    @Test("Cells that do not fit their type fail with wrongType naming the column; lenient numbers are normalised")
    func typeErrors() async throws {
        let result = try await readEveryWay(try fixtureBytes("typed_errors.csv"), dataset: try dataset("readings"))
        #expect(
            result.items.map { $0.error?.code.rawValue ?? "ok" } == [
                "WrongType", "WrongType", "WrongType", "WrongType", "WrongType", "MissingField", "ok", "ok",
            ])
        #expect(result.errors[0].reason.contains("column 'value'"))
        #expect(result.errors[0].field == "value")
        #expect(result.errors[1].field == "count")
        #expect(result.errors[5].field == "station")
        #expect(
            result.documents == [
                #"{"station":"st-7","reading_at":"2024-05-01T00:00:00Z","value":7,"count":-42,"ok":true,"day":"2024-05-01"}"#,
                #"{"station":"st-8","reading_at":"2024-05-01T00:00:00Z","value":0.5,"count":1,"ok":false,"day":"2024-05-01"}"#,
            ])
    }

    @Test("Invalid UTF-8 in a cell fails that row")
    func invalidUTF8() async throws {
        let result = try await readEveryWay(try fixtureBytes("invalid_utf8.csv"), dataset: try dataset("edge"))
        #expect(result.items.map { $0.error?.code.rawValue ?? "ok" } == ["ok", "InvalidUTF8", "ok"])
    }

    @Test("A header with a repeated name, or without a required column, fails the whole file")
    func badHeaders() async throws {
        let repeated = await read(try fixtureBytes("bad_header.csv"), dataset: try dataset("edge"))
        #expect(repeated.fileError?.code == .invalidHeader)
        #expect(repeated.fileError?.detail.contains("'id' appears twice") == true)
        let missing = await read(Array("a,b\n1,2\n".utf8), dataset: try dataset("readings"))
        #expect(missing.fileError?.code == .missingColumn)
        #expect(missing.fileError?.detail.contains("'station'") == true)
    }

    @Test("Resuming at an offset needs the header: given, or read from a source that starts at 0")
    func resumeNeedsHeader() async throws {
        let bytes = try fixtureBytes("readings.csv")
        let whole = await read(bytes, dataset: try dataset("readings"))
        let second = whole.items[1]
        let ranged = Array(bytes[Int(second.startOffset)...])
        let withoutHeader = await read(ranged, dataset: try dataset("readings"), start: second.next)
        #expect(withoutHeader.fileError?.code == .invalidResumePoint)
        await checkResumeFromEveryRecord(bytes, dataset: try dataset("readings"), whole: whole)
    }

    @Test("A sample cut inside a quoted cell drops the cut row silently")
    func sampleCutInQuotes() async throws {
        let bytes = Array(try fixtureBytes("edge.csv").prefix(100))
        var options = ReaderOptions()
        options.inputIsPrefix = true
        let result = await read(bytes, dataset: try dataset("edge"), options: options)
        #expect(result.errors.isEmpty)
        #expect(result.records.count == 2)
        #expect(result.summary.droppedCutOffRecord)
    }
}
