import JSONCodec
import PipelineSettings
import RecordReaders
import Testing

@Suite("Record ids and bulk lines")
struct RecordIDTests {
    static let file = FileIdentity(
        bucket: "dropbox-ingest", key: "in/orders/2024-05-01.jsonl", version: "\"9b2cf535f27731c974343645a3985328\"")

    func records(_ lines: [String], dataset name: String = "orders") async throws -> [RecordItem] {
        let result = await read(Array((lines.joined(separator: "\n") + "\n").utf8), dataset: try dataset(name))
        return result.items
    }

    @Test("Safe id values are used as they are, joined with ':'")
    func readableIds() async throws {
        let items = try await records([#"{"order_id": 1001, "created_at": "2024-05-01T10:00:00Z"}"#])
        let maker = RecordIDMaker(dataset: try dataset("orders"), generateIDs: false, file: Self.file)
        #expect(try maker.id(for: try #require(items[0].record), number: items[0].number) == "1001")

        let doc = await read(try fixtureBytes("ukhsa_timeseries.json"), dataset: try dataset("ukhsa_timeseries"))
        let ukhsa = RecordIDMaker(dataset: try dataset("ukhsa_timeseries"), generateIDs: false, file: Self.file)
        let ids = try doc.items.map { try ukhsa.id(for: try #require($0.record), number: $0.number) }
        #expect(
            ids == [
                "COVID-19_cases_casesByDay:England:2024-01-01", "COVID-19_cases_casesByDay:England:2024-01-02",
                "COVID-19_cases_casesByDay:Wales:2024-01-02",
            ])
    }

    @Test("Unsafe or long values are hashed: h- and 128 bits of SHA-256 over netstrings (pinned values)")
    func hashedIds() async throws {
        let csv = Array("station,reading_at\nst 1,2024-05-01T00:00:00Z\n".utf8)
        let result = await read(csv, dataset: try dataset("readings"))
        let maker = RecordIDMaker(dataset: try dataset("readings"), generateIDs: false, file: Self.file)
        // Pinned: Python hashlib over the same netstrings.
        #expect(try maker.id(for: result.records[0], number: 1) == "h-6f98118584dd7745d834ed3291d4969a")

        var decoder = JSONLinesDecoder(rules: RecordRules(selection: FieldSelection(["name"])))
        decoder.feed(Array(#"{"name": "Ren\u00e9e"}"#.utf8))
        decoder.finish()
        guard case .item(let escaped) = try decoder.next() else { throw RecordError(.invalidJSON, "no record") }
        let byName = RecordIDMaker(idFields: ["name"], generateIDs: false, file: Self.file)
        #expect(try byName.id(for: try #require(escaped.record), number: 1) == "h-999f1cf183c5071580a059d79127291c")

        let longRecord = await read(
            Array(#"[{"metric": "\#(String(repeating: "a", count: 201))"}]"#.utf8), dataset: try rootArrayDataset())
        let byMetric = RecordIDMaker(idFields: ["metric"], generateIDs: false, file: Self.file)
        let id = try byMetric.id(for: longRecord.records[0], number: 1)
        #expect(id.hasPrefix("h-") && id.utf8.count == 34)
    }

    @Test("Ids are distinct for distinct inputs, including ones a naive join would confuse")
    func distinctIds() async throws {
        let lines = [
            #"{"a": "x:y", "b": "z"}"#, #"{"a": "x", "b": "y:z"}"#, #"{"a": "x", "b": "y"}"#,
            #"{"a": "x y", "b": "z"}"#,
            #"{"a": "x", "b": "y z"}"#, #"{"a": 1, "b": 2}"#, #"{"a": "1", "b": "2 "}"#, #"{"a": "", "b": "12"}"#,
            #"{"a": "1", "b": "2"}"#,
        ]
        let rules = RecordRules(selection: FieldSelection(["a", "b"]))
        var decoder = JSONLinesDecoder(rules: rules)
        decoder.feed(Array(lines.joined(separator: "\n").utf8))
        decoder.finish()
        let maker = RecordIDMaker(idFields: ["a", "b"], generateIDs: false, file: Self.file)
        var ids: [String] = []
        while case .item(let item) = try decoder.next() {
            ids.append(try maker.id(for: try #require(item.record), number: item.number))
        }
        #expect(ids.count == lines.count)
        // Numbers and strings with the same text share an id (1:2); every other pair differs.
        #expect(ids[5] == "1:2" && ids[8] == "1:2")
        #expect(Set(ids).count == lines.count - 1)
    }

    @Test("Generated ids come from the file identity and the record number, stable across runs")
    func generatedIds() async throws {
        let items = try await records([#"{"order_id": 1, "created_at": "2024-05-01T10:00:00Z"}"#])
        let maker = RecordIDMaker(dataset: try dataset("orders"), generateIDs: true, file: Self.file)
        #expect(try maker.id(for: try #require(items[0].record), number: 42) == "448d73375aad81c0b3bd90832492efd3-42")
        var otherVersion = Self.file
        otherVersion.version = "\"other\""
        let other = RecordIDMaker(dataset: try dataset("orders"), generateIDs: true, file: otherVersion)
        #expect(try other.id(for: try #require(items[0].record), number: 42) != "448d73375aad81c0b3bd90832492efd3-42")
    }

    @Test("A missing, null or non-scalar id field fails the record with a code")
    func missingIdField() async throws {
        let rules = RecordRules(selection: FieldSelection(["metric"]))
        var decoder = JSONLinesDecoder(rules: rules)
        decoder.feed(Array("{\"metric\": {\"x\": 1}}\n{\"metric\": null}\n{\"other\": 1}\n".utf8))
        decoder.finish()
        let maker = RecordIDMaker(idFields: ["metric"], generateIDs: false, file: Self.file)
        var codes: [RecordError.Code] = []
        while case .item(let item) = try decoder.next() {
            let record = try #require(item.record)
            do throws(RecordError) {
                _ = try maker.id(for: record, number: item.number)
                Issue.record("record \(item.number) got an id")
            } catch {
                codes.append(error.code)
                #expect(error.reason.contains("'metric'"))
            }
        }
        #expect(codes == [.wrongType, .missingField, .missingField])
    }

    @Test("An id with a quote, a backslash or a control character is escaped in the action line; an empty id is kept")
    func bulkLineEscapedID() throws {
        var out: [UInt8] = []
        BulkAction.appendIndex(index: "events", id: "a\"b\\c\u{1}", document: Array("{}".utf8)[...], to: &out)
        BulkAction.appendIndex(index: "events", id: "", document: Array("{}".utf8)[...], to: &out)
        #expect(
            String(decoding: out, as: UTF8.self) == #"""
                {"index":{"_index":"events","_id":"a\"b\\c\u0001"}}
                {}
                {"index":{"_index":"events","_id":""}}
                {}

                """#)
        let action = try JSONParser.parse(String(decoding: out.split(separator: 0x0A)[0], as: UTF8.self))
        #expect(action["index"]?["_id"]?.stringValue == "a\"b\\c\u{1}")
    }

    @Test("One action writer across index names: each line names its own index, escaped")
    func actionWriterAcrossIndices() throws {
        var writer = IndexActionWriter()
        var out: [UInt8] = []
        for (index, id) in [("a", "1"), ("b\"c", "2"), ("a", "3"), ("a", "q\"")] {
            writer.append(index: index, id: id, document: Array("{}".utf8)[...], to: &out)
        }
        writer.append(index: "b\"c", id: nil, document: Array("{}".utf8)[...], to: &out)
        let lines = out.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
        #expect(
            lines == [
                #"{"index":{"_index":"a","_id":"1"}}"#, "{}", #"{"index":{"_index":"b\"c","_id":"2"}}"#, "{}",
                #"{"index":{"_index":"a","_id":"3"}}"#, "{}", #"{"index":{"_index":"a","_id":"q\""}}"#, "{}",
                #"{"index":{"_index":"b\"c"}}"#, "{}",
            ])
    }

    @Test("The bulk action line carries index and id; the document follows unchanged")
    func bulkLines() async throws {
        let items = try await records([#"{"order_id": 7, "created_at": "2024-05-01T10:00:00Z", "q": "a\"b"}"#])
        var out: [UInt8] = []
        BulkAction.appendIndex(
            index: "orders-2024.05", id: "7", document: try #require(items[0].record).document, to: &out)
        BulkAction.appendIndex(index: "x\"y", id: nil, document: Array("{}".utf8)[...], to: &out)
        let text = String(decoding: out, as: UTF8.self)
        #expect(
            text == """
                {"index":{"_index":"orders-2024.05","_id":"7"}}
                {"order_id": 7, "created_at": "2024-05-01T10:00:00Z", "q": "a\\"b"}
                {"index":{"_index":"x\\"y"}}
                {}

                """)
        for line in text.split(separator: "\n") { #expect((try? JSONParser.parse(String(line))) != nil) }
    }
}
