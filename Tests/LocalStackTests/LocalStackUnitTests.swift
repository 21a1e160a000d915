@testable import AWSClients
import Foundation
import JSONCodec
import Parquet
import Testing

@testable import LocalStack

@Suite("Sample data")
struct SampleDataTests {
    @Test("The same seed and scale give the same files, byte for byte; another seed gives others")
    func deterministic() {
        let a = SampleData.generate(seed: 7, scale: 1)
        let b = SampleData.generate(seed: 7, scale: 1)
        let c = SampleData.generate(seed: 8, scale: 1)
        #expect(a.files == b.files)
        #expect(a.documentsPerIndex == b.documentsPerIndex)
        #expect(a.files.map(\.dataset) == c.files.map(\.dataset))
        #expect(a.files.map(\.expected) == c.files.map(\.expected))
        #expect(a.files.map(\.body) != c.files.map(\.body))
    }

    @Test("Totesys extracts follow <table>/<latest row id>-<timestamp>.jsonl and name their latest row")
    func totesysLayout() throws {
        let sample = SampleData.generate()
        let extracts = sample.files.filter { $0.table != nil }
        #expect(extracts.count == 13)
        for file in extracts {
            let parts = file.name.split(separator: "/")
            #expect(parts.count == 3 && parts[0] == "totesys" && parts[1] == file.table!)
            let stem = parts[2].dropLast(".jsonl".count)
            let dash = try #require(stem.firstIndex(of: "-"))
            let latest = try #require(Int(stem[..<dash]))
            let ids = String(decoding: file.body, as: UTF8.self).split(separator: "\n").map {
                (try? JSONParser.parse(Array($0.utf8)))?["\(file.table!)_id"]?.intValue ?? -1
            }
            #expect(ids.max() == latest)
            #expect(stem[stem.index(after: dash)...].count == 14)
        }
    }

    @Test("Scale multiplies the records; every accepted record lands in exactly one expected index")
    func scaleAndIndices() {
        let small = SampleData.generate(scale: 1)
        let large = SampleData.generate(scale: 3)
        #expect(large.totalRecords > 2 * small.totalRecords)
        for sample in [small, large] {
            #expect(sample.documentsPerIndex.values.reduce(0, +) == sample.totalRecords - sample.badRecords)
            #expect(sample.rejected.count == 6)
            #expect(sample.badRecords == 4)
            // One file goes up as a multipart upload: more than one 5 MiB part.
            #expect(sample.files.filter(\.multipart).map { $0.body.count > 5 << 20 } == [true])
        }
    }

    @Test("Expected star-schema rows: facts count every version, dimensions every key, dates every fact date")
    func expectedTables() throws {
        let sample = SampleData.generate()
        let spec: JSON = [
            "sources": ["sales_order": ["key": "sales_order_id"], "staff": ["key": "staff_id"]],
            "tables": [
                "fact_sales_order": ["kind": "fact", "source": "sales_order", "columns": [["name": "created_date", "from": "created_at", "type": "date"]]],
                "dim_staff": ["kind": "dimension", "source": "staff", "columns": []],
                "dim_date": ["kind": "date"],
            ],
        ]
        let expected = sample.expectedTables(specification: spec)
        let sales = try #require(sample.sourceRows["sales_order"])
        #expect(expected["fact_sales_order"] == sales.count)
        // The second sales extract repeats two orders as new versions.
        #expect(Set(sales.compactMap { $0["sales_order_id"]?.intValue }).count == sales.count - 2)
        #expect(expected["dim_staff"] == 8)
        #expect(expected["dim_date"] == Set(sales.compactMap { $0["created_at"]?.stringValue?.prefix(10) }).count)
    }
}

@Suite("Parquet footer")
struct ParquetFooterTests {
    @Test("num_rows is read from the footer of a file the Parquet writer made, across row groups")
    func numRows() throws {
        let schema = try ParquetSchema([ParquetColumn("id", .int64, nullable: false), ParquetColumn("name", .string)])
        var options = ParquetWriterOptions()
        options.rowGroupBytes = 512
        var writer = ParquetWriter(schema: schema, options: options)
        var sink = InMemoryParquetSink()
        for i in 0..<1234 {
            try writer.append(row: [.int64(Int64(i)), i % 3 == 0 ? .null : .string("name \(i)")])
            if writer.rowGroupIsFull { try writer.flushRowGroup(to: &sink) }
        }
        let summary = try writer.finish(to: &sink)
        #expect(summary.rowGroups > 1)
        let bytes = sink.bytes
        let length = try ParquetFooter.footerLength(tail: Array(bytes.suffix(8)))
        let footer = Array(bytes[(bytes.count - 8 - length)..<(bytes.count - 8)])
        #expect(try ParquetFooter.numRows(footer: footer) == 1234)
    }

    @Test("A file without the PAR1 magic, or a cut footer, is a typed Parquet error")
    func badInput() {
        #expect(throws: LocalStackError(.parquet, "the file does not end in PAR1 (not Parquet, or cut short)")) {
            try ParquetFooter.footerLength(tail: Array("12345678".utf8))
        }
        #expect(throws: LocalStackError.self) { try ParquetFooter.numRows(footer: [0x15, 0x02, 0x19]) }
    }
}

@Suite("SQS events as Lambda builds them")
struct SQSEventTests {
    static func message(_ id: String) throws -> SQSMessage {
        try SQSMessage([
            "MessageId": .string(id), "ReceiptHandle": .string("rh-\(id)"), "Body": #"{"Records":[]}"#, "MD5OfBody": "abc",
            "Attributes": ["ApproximateReceiveCount": "2", "SentTimestamp": "1714521600000"],
            "MessageAttributes": ["origin": ["StringValue": "test", "DataType": "String"]],
        ])
    }

    @Test("Each record has messageId, receiptHandle, body, attributes, messageAttributes, md5OfBody, eventSource, eventSourceARN and awsRegion")
    func eventShape() throws {
        let event = FunctionRunner.event([try Self.message("a"), try Self.message("b")], queueArn: "arn:aws:sqs:us-east-1:1:q", region: "us-east-1")
        let records = try #require(event["Records"]?.arrayValue)
        #expect(records.count == 2)
        let first = records[0]
        #expect(first["messageId"]?.stringValue == "a")
        #expect(first["receiptHandle"]?.stringValue == "rh-a")
        #expect(first["attributes"]?["ApproximateReceiveCount"]?.stringValue == "2")
        #expect(first["messageAttributes"]?["origin"]?["stringValue"]?.stringValue == "test")
        #expect(first["messageAttributes"]?["origin"]?["dataType"]?.stringValue == "String")
        #expect(first["md5OfBody"]?.stringValue == "abc")
        #expect(first["eventSource"]?.stringValue == "aws:sqs")
        #expect(first["eventSourceARN"]?.stringValue == "arn:aws:sqs:us-east-1:1:q")
        #expect(first["awsRegion"]?.stringValue == "us-east-1")
    }

    @Test("batchItemFailures: listed ids fail; empty, null or absent means all succeeded; an unknown id fails the batch")
    func partialBatchResponse() throws {
        let batch = [try Self.message("a"), try Self.message("b")]
        func failed(_ text: String) -> Set<String>? { FunctionRunner.failedIdentifiers(Array(text.utf8), batch: batch) }
        #expect(failed(#"{"batchItemFailures":[{"itemIdentifier":"b"}]}"#) == ["b"])
        #expect(failed(#"{"batchItemFailures":[]}"#) == [])
        #expect(failed("") == [])
        #expect(failed("null") == [])
        #expect(failed("{}") == [])
        #expect(failed(#"{"batchItemFailures":[{"itemIdentifier":"zzz"}]}"#) == nil)
        #expect(failed(#"{"batchItemFailures":[{"itemIdentifier":""}]}"#) == nil)
        #expect(failed("not json") == nil)
    }
}

@Suite("local-stack options")
struct OptionsTests {
    @Test("Options parse; a bad value or an unknown option is a usage error naming it")
    func parse() throws {
        let options = try LocalStackOptions(arguments: ["--scale", "3", "--seed", "9", "--function-timeout", "5", "--bootstrap", "ingest=/x/probe"])
        #expect(options.scale == 3 && options.seed == 9 && options.functionTimeoutSeconds == 5)
        #expect(options.bootstraps[.ingest] == "/x/probe")
        #expect(throws: LocalStackError.self) { try LocalStackOptions(arguments: ["--scale", "0"]) }
        #expect(throws: LocalStackError.self) { try LocalStackOptions(arguments: ["--bootstrap", "nothing=/x"]) }
        do {
            _ = try LocalStackOptions(arguments: ["--frobnicate"])
            Issue.record("an unknown option was accepted")
        } catch {
            #expect(error.code == .usage && error.message.contains("--frobnicate"))
        }
    }
}
