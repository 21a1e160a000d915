import JSONCodec
import PipelineSettings
import Primitives
import RecordReaders
import Testing

@Suite("JSON lines")
struct JSONLinesTests {
    @Test("Each line's original bytes are the document; selected fields are extracted without a tree")
    func readsRecords() async throws {
        let bytes = try fixtureBytes("orders.jsonl")
        let result = try await readEveryWay(bytes, dataset: try dataset("orders"))
        #expect(result.fileError == nil)
        #expect(result.errors.isEmpty)
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(result.documents == lines)
        #expect(result.items.map(\.number) == [1, 2, 3])
        let second = result.records[1]
        #expect(second.fields["order_id"]?.text == "1002")
        #expect(second.fields["order_id"]?.kind == .number)
        #expect(second.fields["created_at"]?.text == "2024-05-02T11:30:00+01:00")
        #expect(second.fields["paid"]?.raw.elementsEqual("false".utf8) == true)
        #expect(result.records[2].fields["total"]?.text == "1e3")
        // Escapes are decoded on request; the slow path agrees with the fast one.
        #expect(try result.records[1].object()["customer"] == .string("Grace \"G\" Hopper"))
        #expect(result.records[2].fields["order_id"]?.json == .number("1003"))
        // Members not selected are not extracted.
        #expect(result.records[0].fields["customer"] == nil)
    }

    @Test("Offsets are exact: re-reading from any record's offset gives the same records")
    func offsetsAreExact() async throws {
        let bytes = try fixtureBytes("hostile_bom_crlf_blank.jsonl")
        let orders = try dataset("orders")
        let result = await read(bytes, dataset: orders)
        #expect(result.items.map(\.startOffset) == [3, 65, 123])
        // Each record ends where the next line starts (blank lines belong to no record).
        #expect(result.items[0].endOffset == 58)
        #expect(result.items.last?.endOffset == Int64(bytes.count))
        for item in result.items {
            let line = bytes[Int(item.startOffset)..<Int(item.endOffset)]
            #expect(String(decoding: line, as: UTF8.self).hasPrefix("{\"order_id\": \(item.number)"))
        }
        await checkResumeFromEveryRecord(bytes, dataset: orders, whole: result)
        let mixed = try fixtureBytes("mixed_errors.jsonl")
        await checkResumeFromEveryRecord(mixed, dataset: orders, whole: await read(mixed, dataset: orders))
    }

    @Test("A byte-order mark is skipped, CRLF line ends trimmed, blank lines skipped and counted")
    func bomCRLFBlank() async throws {
        let result = try await readEveryWay(
            try fixtureBytes("hostile_bom_crlf_blank.jsonl"), dataset: try dataset("orders"))
        #expect(result.summary.skippedByteOrderMark)
        #expect(result.summary.blankLines == 4)
        #expect(result.documents.count == 3)
        #expect(result.documents.allSatisfy { $0.hasPrefix("{") && $0.hasSuffix("}") })
        #expect(result.errors.isEmpty)
    }

    @Test("Every kind of bad line fails alone with a code and a reason, and reading goes on")
    func perRecordErrors() async throws {
        let result = try await readEveryWay(try fixtureBytes("mixed_errors.jsonl"), dataset: try dataset("orders"))
        #expect(result.fileError == nil)
        let outcome = result.items.map { $0.error?.code.rawValue ?? "ok" }
        #expect(
            outcome == [
                "ok", "InvalidJSON", "NotAnObject", "NotAnObject", "MissingField", "WrongType", "WrongType",
                "InvalidJSON",
                "InvalidJSON", "MissingField", "InvalidJSON", "WrongType", "ok",
            ])
        #expect(result.items.map(\.number) == Array(1...13))
        for error in result.errors { #expect(!error.reason.isEmpty) }
        #expect(result.errors[3].field == "order_id")
        #expect(result.errors[3].reason.contains("'order_id' is missing"))
        #expect(result.errors[4].reason.contains("'order_id' should be an integer"))
        #expect(result.errors[5].reason.contains("'created_at' should be an ISO 8601 timestamp"))
        #expect(result.errors[8].reason.contains("is null"))
        // The failed line's text is kept for the errors object.
        if case .failure(_, let raw, let truncated) = result.items[1].outcome {
            #expect(String(decoding: raw, as: UTF8.self) == #"{"order_id": 2, "created_at": "#)
            #expect(!truncated)
        }
        #expect(result.summary.failedRecords == 11)
        #expect(result.summary.records == 13)
    }

    @Test("Invalid UTF-8 in a string is invalidUTF8: bad bytes, surrogates and overlong forms")
    func invalidUTF8() async throws {
        let result = try await readEveryWay(
            try fixtureBytes("hostile_invalid_utf8.jsonl"), dataset: try dataset("orders"))
        #expect(
            result.items.map { $0.error?.code.rawValue ?? "ok" } == [
                "ok", "InvalidUTF8", "InvalidUTF8", "InvalidUTF8", "ok",
            ])
    }

    @Test("Nesting past the depth limit is tooDeep for that line only")
    func tooDeep() async throws {
        let orders = try dataset("orders")
        let result = try await readEveryWay(try fixtureBytes("hostile_deep.jsonl"), dataset: orders)
        #expect(result.items.map { $0.error?.code.rawValue ?? "ok" } == ["ok", "TooDeep", "ok"])
        var options = ReaderOptions()
        options.maxDepth = 256
        let deeper = await read(try fixtureBytes("hostile_deep.jsonl"), dataset: orders, options: options)
        #expect(deeper.errors.isEmpty)
    }

    @Test("An empty file has no records and no error")
    func emptyFile() async throws {
        let result = await read(try fixtureBytes("empty.jsonl"), dataset: try dataset("orders"))
        #expect(result.items.isEmpty)
        #expect(result.fileError == nil)
        let blank = await read(Array("\u{FEFF}\n\r\n  \n".utf8), dataset: try dataset("orders"))
        #expect(blank.items.isEmpty)
        #expect(blank.summary.blankLines == 3)
    }

    @Test("A sample cut mid-record yields the whole records and drops the cut one silently")
    func sampleCutMidRecord() async throws {
        let bytes = try fixtureBytes("sample_cut.jsonl")
        var options = ReaderOptions()
        options.inputIsPrefix = true
        let result = try await readEveryWay(bytes, dataset: try dataset("orders"), options: options)
        #expect(result.errors.isEmpty)
        #expect(result.summary.droppedCutOffRecord)
        #expect(result.records.count == bytes.split(separator: 0x0A).count - 1)
        #expect(result.items.last?.endOffset == Int64(bytes.lastIndex(of: 0x0A)! + 1))
        // Without the prefix flag the cut line is a record of its own, and it fails.
        let full = await read(bytes, dataset: try dataset("orders"))
        #expect(full.codes == [.invalidJSON])
    }

    @Test("A record without the final newline is read")
    func lastLineWithoutNewline() async throws {
        let bytes = Array(#"{"order_id": 1, "created_at": "2024-01-01T00:00:00Z"}"#.utf8)
        let result = try await readEveryWay(bytes, dataset: try dataset("orders"))
        #expect(result.records.count == 1)
        #expect(result.items[0].endOffset == Int64(bytes.count))
    }

    @Test("Duplicate members answer with their last value; escaped member names are matched")
    func duplicateAndEscapedNames() async throws {
        let line = #"{"order_id": 1, "created_at": "2024-01-01T00:00:00Z", "order_id": 2, "p\u0061id": true}"#
        let result = await read(Array(line.utf8), dataset: try dataset("orders"))
        #expect(result.records.first?.fields["order_id"]?.text == "2")
        #expect(result.records.first?.fields["paid"]?.kind == .boolean)
    }

    @Test("The fast-path validator agrees with the strict JSON parser on valid and invalid lines")
    func agreesWithParser() async throws {
        let cases = [
            #"{}"#, #"{"a":[]}"#, #"{"a":{}}"#, #"{"a":[1,[2,{"b":[]}],{}]}"#, #"{"a":-0.0e+5}"#, #"{"a":1E2}"#,
            #"{"a":"\ud83d\ude00"}"#, #"{"a":"\ud83d"}"#, #"{"a":"\ude00"}"#, #"{"a":01}"#, #"{"a":1.}"#, #"{"a":.5}"#,
            #"{"a":-}"#, #"{"a":tru}"#, #"{"a":nulll}"#, #"{"a" 1}"#, #"{"a":1,}"#, #"{,}"#, #"{"a":[1,]}"#,
            #"{"a":[1 2]}"#, #"{"a":"\u12"}"#, "{\"a\":\"tab\there\"}", #"{"a":1}}"#, #"{"a":[}"#, #"{"a":{]}"#,
            #"{"a":"x\/y"}"#, #"{"a":true,"b":false,"c":null}"#, #"{"a":1e}"#, #"{"a":"\q"}"#, #"{"a" : [ 1 , { } ] }"#,
        ]
        let rules = RecordRules(selection: FieldSelection(["a"]))
        for text in cases {
            var decoder = JSONLinesDecoder(rules: rules)
            decoder.feed(Array(text.utf8))
            decoder.finish()
            guard case .item(let item) = try decoder.next() else {
                Issue.record("no item for \(text)")
                continue
            }
            let parserAccepts = (try? JSONParser.parse(text)) != nil
            #expect((item.record != nil) == parserAccepts, "\(text)")
            if let value = item.record?.fields["a"], let parsed = try? JSONParser.parse(text) {
                #expect(value.json == parsed["a"], "\(text)")
            }
        }
    }

    @Test("The validator agrees with the strict parser on 20,000 seeded mutations of nested records")
    func agreesWithParserOnMutations() throws {
        var random = SplitMix64(seed: 20_261_124)
        let pieces = [
            #"{"a":1,"b":"x","c":[1,{"d":[true,null]}],"e":{"f":"\u00e9\n"},"g":-2.5e3}"#,
            #"{"b":[[],[[]],{}],"a":{"a":{"a":[1,2,3]}},"z":"café"}"#, #"{"a":"\ud83d\ude00","a":false}"#,
            #"{ "a" : [ 1 , "2" ] , "b" : { } }"#, #"{"a":[[[[[[1]]]]]],"b":{"c":{"d":{"e":{}}}}}"#,
        ]
        let alphabet = Array(#"{}[]:,"\ 0123456789.eE+-truefalsn ab\u"#.utf8) + [0xC3, 0xA9, 0x80, 0x0A, 0x09, 0x01]
        let rules = RecordRules(selection: FieldSelection(["a", "b"]))
        var options = ReaderOptions()
        options.maxDepth = 5
        var accepted = 0
        for _ in 0..<20_000 {
            var bytes = Array(pieces[Int(random.next() % UInt64(pieces.count))].utf8)
            for _ in 0..<Int(random.next() % 4) {
                let at = Int(random.next() % UInt64(bytes.count))
                let byte = alphabet[Int(random.next() % UInt64(alphabet.count))]
                switch random.next() % 3 {
                case 0: bytes[at] = byte
                case 1: bytes.insert(byte, at: at)
                default: bytes.remove(at: at)
                }
            }
            // One line: a newline inside would make two records.
            bytes = bytes.map { $0 == 0x0A ? 0x20 : $0 }
            var decoder = JSONLinesDecoder(rules: rules, options: options)
            decoder.feed(bytes)
            decoder.finish()
            let step = try decoder.next()
            let parsed = try? JSONParser.parse(bytes, maxDepth: 5)
            let text = String(decoding: bytes, as: UTF8.self)
            guard case .item(let item) = step else {
                // Only a blank line gives no item.
                #expect(bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }, "\(text)")
                continue
            }
            #expect((item.record != nil) == (parsed?.objectValue != nil), "\(text)")
            if let record = item.record, let object = parsed?.objectValue {
                accepted += 1
                for name in ["a", "b"] { #expect(record.fields[name]?.json == object[name], "\(text)") }
            } else if let error = item.error {
                if parsed != nil { #expect(error.code == .notAnObject, "\(text)") }
                let deep = parsed == nil && (try? JSONParser.parse(bytes, maxDepth: 64)) != nil
                if deep { #expect(error.code == .tooDeep || error.code == .notAnObject, "\(text)") }
            }
        }
        // The mutations leave a fair share of records valid, so both verdicts are exercised.
        #expect(accepted > 2_000)
    }
}
