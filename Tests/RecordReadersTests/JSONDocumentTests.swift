import JSONCodec
import PipelineSettings
import RecordReaders
import Testing

@Suite("JSON documents")
struct JSONDocumentTests {
    static var streaming: ReaderOptions {
        var options = ReaderOptions()
        options.smallDocumentBytes = 0
        return options
    }

    @Test(
        "UKHSA timeseries: each result is a record with the page's scalar fields merged in", arguments: [false, true])
    func ukhsaTimeseries(streamed: Bool) async throws {
        let bytes = try fixtureBytes("ukhsa_timeseries.json")
        let result = try await readEveryWay(
            bytes, dataset: try dataset("ukhsa_timeseries"), options: streamed ? Self.streaming : ReaderOptions())
        #expect(result.fileError == nil)
        #expect(result.errors.isEmpty)
        let objects = try result.records.map { try $0.object() }
        #expect(objects.count == 3)
        #expect(objects[0]["page"] == .number("1"))
        #expect(objects[0]["theme"] == .string("infectious_disease"))
        #expect(objects[0]["next"] == .null)
        #expect(objects[0]["metric_value"] == .number("12.0"))
        // The record's own member wins over the parent's.
        #expect(objects[1]["theme"] == .string("own_theme"))
        #expect(objects[1].keys.filter { $0 == "theme" }.count == 1)
        // Extracted fields see merged values too (the index template reads `theme`).
        #expect(result.records[0].fields["theme"]?.text == "infectious_disease")
        #expect(result.records[1].fields["theme"]?.text == "own_theme")
        #expect(result.records[2].fields["geography"]?.text == "Wales")
        // Offsets frame exactly each element of the array.
        let original = try JSONParser.parse(bytes)["results"]?.arrayValue ?? []
        for (item, element) in zip(result.items, original) {
            let slice = bytes[Int(item.startOffset)..<Int(item.endOffset)]
            #expect(try JSONParser.parse(slice) == element)
        }
    }

    @Test("Headline-style: records deeper down; parent fields after the array count for small documents")
    func ukhsaHeadline() async throws {
        let bytes = try fixtureBytes("ukhsa_headline.json")
        let whole = try await readEveryWay(bytes, dataset: try dataset("ukhsa_headline"))
        #expect(whole.errors.isEmpty)
        let objects = try whole.records.map { try $0.object() }
        #expect(objects.count == 2)
        #expect(objects[0]["geography"] == .string("England"))
        #expect(objects[0]["age"] == .string("all"))
        #expect(objects[0]["trailer"] == .string("after-records"))
        #expect(objects[0]["meta"] == nil)  // objects are not merged
        #expect(objects[1]["metric_value"] == .number("-0.07"))
        // Streamed, only the fields before the array are known.
        let streamed = await read(bytes, dataset: try dataset("ukhsa_headline"), options: Self.streaming)
        let streamedObjects = try streamed.records.map { try $0.object() }
        #expect(streamedObjects[0]["geography"] == .string("England"))
        #expect(streamedObjects[0]["age"] == nil)
        #expect(streamedObjects[0]["trailer"] == nil)
    }

    @Test("Elements that are not objects, or lack required fields, fail alone; a BOM is skipped")
    func elementErrors() async throws {
        let result = try await readEveryWay(try fixtureBytes("doc_elements.json"), dataset: try rootArrayDataset())
        #expect(result.fileError == nil)
        #expect(result.summary.skippedByteOrderMark)
        #expect(
            result.items.map { $0.error?.code.rawValue ?? "ok" } == [
                "ok", "NotAnObject", "ok", "NotAnObject", "MissingField",
            ])
        #expect(result.records[1].fields["metric"]?.text == "b")
        #expect(try result.records[1].object()["v"] == .string("é😀"))
    }

    @Test("Re-reading from any record's offset gives the same records (the document is re-read from byte 0)")
    func resume() async throws {
        let bytes = try fixtureBytes("ukhsa_timeseries.json")
        let ukhsa = try dataset("ukhsa_timeseries")
        let whole = await read(bytes, dataset: ukhsa)
        await checkResumeFromEveryRecord(bytes, dataset: ukhsa, whole: whole, rangedSource: false)
        let resumed = await read(bytes, dataset: ukhsa, start: whole.items[1].next, sourceOffset: 0)
        #expect(resumed.summary.skippedBeforeResume == 2)
        let ranged = await read(Array(bytes[100...]), dataset: ukhsa, start: whole.items[1].next)
        #expect(ranged.fileError?.code == .invalidResumePoint)
    }

    @Test(
        "Whole-file failures come after the records before them, each with its code",
        arguments: [
            ("doc_not_json.json", RecordFileError.Code.invalidJSON, 2),
            ("doc_pointer_not_array.json", .notAnArray, 0),
            ("doc_pointer_missing.json", .pointerNotFound, 0),
            ("doc_truncated.json", .truncated, 1),
            ("doc_deep.json", .tooDeep, 1),
        ])
    func fileErrors(name: String, code: RecordFileError.Code, recordsBefore: Int) async throws {
        let ukhsa = try dataset("elements")
        let elements = DatasetDefinitionWithPointer.make(ukhsa, pointer: "/results")
        let result = try await readEveryWay(try fixtureBytes(name), dataset: elements)
        #expect(result.fileError?.code == code)
        #expect(result.fileError?.detail.isEmpty == false)
        #expect(result.items.count == recordsBefore)
    }

    @Test("Not JSON at all, or empty, is a whole-file error")
    func notJSON() async throws {
        let elements = try rootArrayDataset()
        #expect(await read(Array("hello".utf8), dataset: elements).fileError?.code == .invalidJSON)
        #expect(await read([], dataset: elements).fileError?.code == .empty)
        #expect(await read(Array("  \n".utf8), dataset: elements).fileError?.code == .empty)
        #expect(await read(Array("[] []".utf8), dataset: elements).fileError?.code == .invalidJSON)
        #expect(await read(Array("[\"\u{1}\"]".utf8), dataset: elements).fileError?.code == .invalidJSON)
        #expect(await read([0x5B, 0x22, 0xC3, 0x28, 0x22, 0x5D], dataset: elements).fileError?.code == .invalidJSON)
        #expect(await read(Array("[1, 2]  \n".utf8), dataset: elements).fileError == nil)
    }

    @Test("A sample cut mid-document yields the complete records and no error")
    func sampleCut() async throws {
        var options = ReaderOptions()
        options.inputIsPrefix = true
        let elements = DatasetDefinitionWithPointer.make(try dataset("elements"), pointer: "/results")
        let result = try await readEveryWay(try fixtureBytes("doc_truncated.json"), dataset: elements, options: options)
        #expect(result.fileError == nil)
        #expect(result.records.count == 1)
        #expect(result.summary.droppedCutOffRecord)
    }

    @Test("The state machine agrees with the strict parser on whole documents")
    func agreesWithParser() async throws {
        let cases = [
            "[]", "[{}]", "[{\"a\":1},{\"a\":[1,2,{\"b\":null}]}]", "[{\"a\":\"\\ud83d\\ude00\"}]",
            "[{\"a\":\"\\ud83d\"}]",
            "[{\"a\":01}]", "[{\"a\":1.}]", "[{\"a\":-}]", "[{\"a\":1e+}]", "[{\"a\":tru}]", "[{\"a\" 1}]",
            "[{\"a\":1,}]",
            "[{},]", "[{}}", "[{]", "[{\"a\":\"\\q\"}]", "[{\"a\":-0.5E-3}]",
            "[{\"a\":true} ,{\"b\":false}, {\"c\":null} ]",
            "[{\"a\":\"\u{7F}é\"}]", "[1 2]", "[{\"a\":[]]}]", "[-1, 0, 10, 1.25e3]", "[\"\\u00\"]",
        ]
        let elements = try rootArrayDataset()
        for text in cases {
            let result = await read(Array(text.utf8), dataset: elements, chunkSize: 3)
            let parserAccepts = (try? JSONParser.parse(text)) != nil
            #expect((result.fileError == nil) == parserAccepts, "\(text): \(String(describing: result.fileError))")
        }
    }
}

/// Datasets with another records pointer, through the catalog (as the handlers get them).
enum DatasetDefinitionWithPointer {
    static func make(_ base: DatasetDefinition, pointer: String) -> DatasetDefinition {
        var copy = base
        copy.format = .jsonDocument(recordsPointer: try! JSONPointer(pointer), mergeParentFields: false)
        return copy
    }
}
