import JSONCodec
import PipelineSettings
import RecordReaders
import Testing

@Suite("Index names, selections and error reporting")
struct IndexAndSelectionTests {
    @Test("Memoised index names equal the template's own rendering, across time zones, day boundaries and cache places")
    func memoisedNames() async throws {
        let orders = try dataset("orders")
        let lines = [
            "2024-01-31T23:30:00Z", "2024-01-31T23:30:00-05:00", "2024-02-01T00:30:00+01:00", "2024-01-31T10:00:00.5Z",
            "2024-12-31T23:59:59z", "20240301T000000Z", "2024-01-31T23:30:00Z",
            // 64 days apart: the same place in the by-day cache, other months.
            "2024-01-01T00:00:00Z", "2024-03-05T00:00:00Z", "2024-01-01T12:00:00Z",
        ].enumerated().map { #"{"order_id": \#($0.offset), "created_at": "\#($0.element)"}"# }
        let result = await read(Array(lines.joined(separator: "\n").utf8), dataset: orders)
        #expect(result.records.count == lines.count)
        let template = try #require(orders.index?.template)
        var namer = IndexNamer(
            template: template, dataset: orders.name, keyParts: [:], rules: RecordRules(dataset: orders))
        var names: [String] = []
        for record in result.records {
            let expected = try template.render(dataset: orders.name, keyParts: [:]) { record.fields[$0]?.text }
            let name = try namer.name(for: record)
            #expect(name == expected)
            names.append(name)
        }
        #expect(
            names == [
                "orders-2024.01", "orders-2024.02", "orders-2024.01", "orders-2024.01", "orders-2024.12",
                "orders-2024.03",
                "orders-2024.01", "orders-2024.01", "orders-2024.03", "orders-2024.01",
            ])
    }

    @Test("A field the template needs but the record lacks is a render error, memo or not")
    func missingTemplateField() async throws {
        let template = try IndexNameTemplate("events-{kind}-{at:day}")
        let rules = RecordRules(selection: FieldSelection(["kind", "at"]))
        var decoder = JSONLinesDecoder(rules: rules)
        decoder.feed(
            Array(
                "{\"kind\": \"A\", \"at\": \"2024-05-01\"}\n{\"at\": \"2024-05-01\"}\n{\"kind\": \"A\", \"at\": \"soon\"}\n"
                    .utf8))
        decoder.finish()
        var namer = IndexNamer(template: template, dataset: "events", keyParts: [:], rules: rules)
        var outcomes: [String] = []
        while case .item(let item) = try decoder.next() {
            do {
                outcomes.append(try namer.name(for: try #require(item.record)))
            } catch let error as IndexNameTemplate.RenderError {
                outcomes.append("error: \(error.field)")
            }
        }
        #expect(outcomes == ["events-a-2024.05.01", "error: kind", "error: at"])
    }

    @Test("The dataset's selection holds its id, index, required and typed fields")
    func datasetSelection() throws {
        let selection = FieldSelection(dataset: try dataset("readings"))
        #expect(Set(selection.names) == ["station", "reading_at", "value", "count", "ok", "day"])
        #expect(FieldSelection(dataset: try dataset("ukhsa_timeseries"), extra: ["extra"]).names.contains("theme"))
        #expect(FieldSelection(dataset: try dataset("ukhsa_timeseries"), extra: ["extra"]).names.last == "extra")
    }

    @Test("Records deeper in arrays and escaped member names: the pointer is followed through array indices")
    func pointerThroughArrays() async throws {
        let text = #"""
            {"v": 1, "data": [{"skip": [{"a": 0}], "k": "no"}, {"k": "yes", "it\u0065ms": [{"a": 1}, {"a": 2}], "after": true}], "z": null}
            """#
        var elements = DatasetDefinitionWithPointer.make(try dataset("elements"), pointer: "/data/1/items")
        elements.requiredFields = []
        elements.format = .jsonDocument(recordsPointer: try JSONPointer("/data/1/items"), mergeParentFields: true)
        let result = try await readEveryWay(Array(text.utf8), dataset: elements)
        #expect(result.fileError == nil)
        let objects = try result.records.map { try $0.object() }
        #expect(objects.map { $0["a"] } == [.number("1"), .number("2")])
        #expect(
            objects.allSatisfy { $0["v"] == .number("1") && $0["k"] == .string("yes") && $0["after"] == .bool(true) })
        #expect(objects.allSatisfy { $0["z"] == .null && $0["skip"] == nil })
    }

    @Test(
        "Every failure in every fixture has a stable code and a reason",
        arguments: [
            ("mixed_errors.jsonl", "orders"), ("hostile_invalid_utf8.jsonl", "orders"),
            ("hostile_deep.jsonl", "orders"),
            ("field_count.csv", "edge"), ("unbalanced.csv", "edge"), ("typed_errors.csv", "readings"),
            ("invalid_utf8.csv", "edge"), ("unclosed_quote_eof.csv", "edge"),
        ])
    func everyErrorExplained(fixture: String, datasetName: String) async throws {
        let result = await read(try fixtureBytes(fixture), dataset: try dataset(datasetName))
        #expect(!result.errors.isEmpty)
        for error in result.errors {
            #expect(RecordError.Code(rawValue: error.code.rawValue) == error.code)
            #expect(error.reason.count > 10)
            #expect(error.description.hasPrefix(error.code.rawValue + ": "))
        }
    }
}
