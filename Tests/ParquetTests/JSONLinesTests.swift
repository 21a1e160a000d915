import JSONCodec
import Parquet
import Primitives
import Testing
import TestSupport

/// The extract used by the JSON-lines tests, as files' worth of text.
enum Extract {
    static let schema = try! ParquetSchema([
        ParquetColumn("id", .int64, nullable: false),
        ParquetColumn("qty", .int32),
        ParquetColumn("price", .decimal(precision: 9, scale: 2)),
        ParquetColumn("total", .decimal(precision: 38, scale: 10)),
        ParquetColumn("rate", .double),
        ParquetColumn("ok", .boolean),
        ParquetColumn("name", .string),
        ParquetColumn("day", .date),
        ParquetColumn("at", .timestampMillis),
    ])

    static let text = """
        {"id":1,"qty":3,"price":9999999.99,"total":"12345678901234567890.0123456789","rate":0.19,"ok":true,"name":"plain","day":"2024-02-29","at":"2024-05-24T10:11:12.345Z"}
        {"id":2,"qty":null,"price":"-9999999.99","total":-1.5e-3,"rate":-2.5E2,"ok":false,"name":"tab\\there \\"q\\" \\u00e9\\ud83d\\ude9a","day":"1969-07-20","at":"1969-12-31T23:59:59.999+00:00"}
        {"at":"2024-05-24 12:00:00+02:00","day":null,"name":"","ok":null,"rate":null,"total":null,"price":null,"qty":-2147483648,"id":-9223372036854775808}

          {"id":4,"unknown":{"nested":[1,2,{"x":"y"}]},"name":"Zürich – 東京","at":1716550496123,"price":0.1}
        {"id":5}
        """

    static let expected: [[ParquetValue]] = [
        [
            .int64(1), .int32(3), .decimal(unscaled: 999_999_999), .decimalText("12345678901234567890.0123456789"),
            .double(0.19), .boolean(true), .string("plain"), .date(daysSinceEpoch: 19_782),
            .timestamp(millisecondsSinceEpoch: 1_716_545_472_345),
        ],
        [
            .int64(2), .null, .decimal(unscaled: -999_999_999), .decimal(unscaled: -15_000_000), .double(-250),
            .boolean(false), .string("tab\there \"q\" é🚚"), .date(daysSinceEpoch: -165),
            .timestamp(millisecondsSinceEpoch: -1),
        ],
        [
            .int64(Int64.min), .int32(Int32.min), .null, .null, .null, .null, .string(""), .null,
            .timestamp(millisecondsSinceEpoch: 1_716_544_800_000),
        ],
        [
            .int64(4), .null, .decimal(unscaled: 10), .null, .null, .null, .string("Zürich – 東京"), .null,
            .timestamp(millisecondsSinceEpoch: 1_716_550_496_123),
        ],
        [.int64(5), .null, .null, .null, .null, .null, .null, .null, .null],
    ]
}

@Suite("JSON lines into Parquet")
struct JSONLinesTests {
    @Test("Lines in any member order, with escapes, nulls, missing and unknown keys, read back exactly")
    func convert() async throws {
        var converter = JSONLinesConverter(schema: Extract.schema)
        var sink = InMemoryParquetSink()
        // Feed the text in 7-byte chunks so lines straddle chunk boundaries; no final newline.
        let bytes = Array(Extract.text.utf8)
        for start in stride(from: 0, to: bytes.count, by: 7) {
            try bytes[start..<min(bytes.count, start + 7)].withUnsafeBytes { try converter.consume($0, to: &sink) }
        }
        let summary = try await converter.finish(to: &sink)
        #expect(summary.rows == 5)
        #expect(converter.linesRead == 6)
        let read = try await ReadBack.read(sink.bytes)
        expectRows(read, Extract.expected, Extract.schema)
    }

    @Test("The async converter writes the same file, cutting row groups as it goes")
    func asyncConvert() async throws {
        var options = ParquetWriterOptions()
        options.rowGroupBytes = 4 << 10
        var lines = ""
        for i in 0..<3000 { lines += #"{"id":\#(i),"name":"customer \#(i % 50)","price":\#(i).25}"# + "\n" }
        let (syncSink, syncSummary) = try convertSynchronously(lines, options: options)
        var asyncConverter = JSONLinesConverter(schema: Extract.schema, options: options)
        var asyncSink = InMemoryParquetSink()
        let bytes = Array(lines.utf8)
        for start in stride(from: 0, to: bytes.count, by: 4096) {
            try await asyncConverter.consume(Array(bytes[start..<min(bytes.count, start + 4096)]), to: &asyncSink)
        }
        let asyncSummary = try await asyncConverter.finish(to: &asyncSink)
        #expect(syncSummary == asyncSummary)
        #expect(syncSummary.rowGroups > 3)
        #expect(syncSink.bytes == asyncSink.bytes)
        let read = try await ReadBack.read(asyncSink.bytes)
        #expect(read.pyarrowRows.count == 3000 && read.duckdbRows.count == 3000)
        #expect(read.pyarrowRows[2999][0] == .number("2999") && read.duckdbRows[2999][2] == .string("2999.25"))
        #expect(read.duckdbRows[1234][6] == .string("customer 34"))
    }

    func convertSynchronously(_ lines: String, options: ParquetWriterOptions) throws -> (InMemoryParquetSink, ParquetFileSummary) {
        var converter = JSONLinesConverter(schema: Extract.schema, options: options)
        var sink = InMemoryParquetSink()
        try Array(lines.utf8).withUnsafeBytes { try converter.consume($0, to: &sink) }
        let summary = try converter.finish(to: &sink)
        return (sink, summary)
    }

    @Test(
        "A bad line is a typed error naming its line and column, and leaves nothing behind",
        arguments: [
            (#"{"id":1,"qty":1.5}"#, ParquetError.Code.typeMismatch, "qty"),
            (#"{"id":1,"qty":2147483648}"#, .valueOutOfRange, "qty"),
            (#"{"id":1,"price":12345678.9}"#, .decimalOutOfPrecision, "price"),
            (#"{"id":1,"price":"1.234"}"#, .decimalScaleExceeded, "price"),
            (#"{"id":1,"price":"12,5"}"#, .invalidDecimal, "price"),
            (#"{"id":1,"day":"2023-02-29"}"#, .invalidDate, "day"),
            (#"{"id":1,"at":"2024-05-24T10:11:12.3456Z"}"#, .invalidTimestamp, "at"),
            (#"{"id":1,"at":"yesterday"}"#, .invalidTimestamp, "at"),
            (#"{"id":null}"#, .nullInRequiredColumn, "id"),
            (#"{"qty":1}"#, .nullInRequiredColumn, "id"),
            (#"{"id":1,"id":2}"#, .duplicateKey, "id"),
            (#"{"id":1,"name":5}"#, .typeMismatch, "name"),
            (#"{"id":1,"ok":"yes"}"#, .typeMismatch, "ok"),
            (#"{"id":1,"name":"a"#, .malformedJSON, nil),
            (#"[1,2]"#, .malformedJSON, nil),
            (#"{"id":1} x"#, .malformedJSON, nil),
            ("{\"id\":1,\"name\":\"\u{01}\"}", .malformedJSON, nil),
        ] as [(String, ParquetError.Code, String?)])
    func badLine(line: String, code: ParquetError.Code, column: String?) async throws {
        var writer = ParquetWriter(schema: Extract.schema)
        var reader = JSONLinesReader(schema: Extract.schema)
        let good = Array(#"{"id":7,"qty":1,"price":1.5,"name":"kept","day":"2024-01-01","at":"2024-01-01T00:00:00Z"}"#.utf8)
        try good.withUnsafeBufferPointer { try reader.appendLine($0, to: &writer) }
        let bad = Array(line.utf8)
        #expect {
            try bad.withUnsafeBufferPointer { try reader.appendLine($0, to: &writer) }
        } throws: { error in
            guard let error = error as? ParquetError else { return false }
            return error.code == code && error.line == 2 && error.column == column
        }
        try good.withUnsafeBufferPointer { try reader.appendLine($0, to: &writer) }
        var sink = InMemoryParquetSink()
        _ = try await writer.finish(to: &sink)
        let read = try await ReadBack.read(sink.bytes)
        let row: [ParquetValue] = [
            .int64(7), .int32(1), .decimal(unscaled: 150), .null, .null, .null, .string("kept"),
            .date(daysSinceEpoch: 19_723), .timestamp(millisecondsSinceEpoch: 1_704_067_200_000),
        ]
        expectRows(read, [row, row], Extract.schema)
    }

    @Test("Invalid UTF-8 in a string is refused")
    func invalidUTF8() {
        var writer = ParquetWriter(schema: Extract.schema)
        var reader = JSONLinesReader(schema: Extract.schema)
        for bytes: [UInt8] in [[0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80], [0xE2, 0x82]] {
            let line = Array(#"{"id":1,"name":""#.utf8) + bytes + Array(#""}"#.utf8)
            #expect {
                try line.withUnsafeBufferPointer { try reader.appendLine($0, to: &writer) }
            } throws: { error in
                (error as? ParquetError)?.code == .invalidString
            }
        }
        #expect(writer.bufferedRows == 0)
    }

    @Test("Unknown keys can be refused")
    func unknownKeys() {
        var writer = ParquetWriter(schema: Extract.schema)
        var reader = JSONLinesReader(schema: Extract.schema, unknownKeys: .reject)
        let line = Array(#"{"id":1,"colour":"red"}"#.utf8)
        #expect {
            try line.withUnsafeBufferPointer { try reader.appendLine($0, to: &writer) }
        } throws: { error in
            (error as? ParquetError)?.code == .unknownKey
        }
    }
}

@Suite("Parquet writer input checks")
struct ParquetInputTests {
    @Test("Values of the wrong type, out of range or precision, and nulls in required columns are typed errors")
    func refusedRows() async throws {
        var writer = ParquetWriter(schema: AllTypes.schema)
        let good = AllTypes.rows[0]
        func replacing(_ column: Int, with value: ParquetValue) -> [ParquetValue] {
            var row = good
            row[column] = value
            return row
        }
        let cases: [([ParquetValue], ParquetError.Code)] = [
            (replacing(0, with: .int32(1)), .typeMismatch),
            (replacing(1, with: .int64(Int64(Int32.max) + 1)), .valueOutOfRange),
            (replacing(2, with: .null), .nullInRequiredColumn),
            (replacing(4, with: .double(1)), .typeMismatch),
            (replacing(7, with: .decimalText("10000000.00")), .decimalOutOfPrecision),
            (replacing(7, with: .decimal(unscaled: -1_000_000_000)), .decimalOutOfPrecision),
            (replacing(8, with: .decimalText("1.00001")), .decimalScaleExceeded),
            (replacing(9, with: .decimalText("1e28")), .decimalOutOfPrecision),
            (replacing(9, with: .decimalText("abc")), .invalidDecimal),
            (Array(good.prefix(3)), .wrongColumnCount),
        ]
        for (row, code) in cases {
            #expect {
                try writer.append(row: row)
            } throws: { error in
                (error as? ParquetError)?.code == code
            }
        }
        #expect(writer.bufferedRows == 0)
        try writer.append(row: good)
        var sink = InMemoryParquetSink()
        _ = try await writer.finish(to: &sink)
        #expect {
            try writer.append(row: good)
        } throws: { error in
            (error as? ParquetError)?.code == .writerFinished
        }
        expectRows(try await ReadBack.read(sink.bytes), [good], AllTypes.schema)
    }

    @Test("Schemas with no columns, repeated names or impossible decimals are refused")
    func badSchemas() {
        for columns in [
            [], [ParquetColumn("a", .int32), ParquetColumn("a", .string)], [ParquetColumn("d", .decimal(precision: 39, scale: 0))],
            [ParquetColumn("d", .decimal(precision: 5, scale: 6))], [ParquetColumn("", .int32)],
        ] as [[ParquetColumn]] {
            #expect {
                try ParquetSchema(columns)
            } throws: { error in
                (error as? ParquetError)?.code == .invalidSchema
            }
        }
    }

    @Test("Decimal text in exponent form is converted exactly")
    func decimalExponents() async throws {
        let schema = try ParquetSchema([ParquetColumn("d", .decimal(precision: 38, scale: 10))])
        var writer = ParquetWriter(schema: schema)
        let texts = ["-1e-10", "1.5E3", "+0.00000000010", "123456789012345678901234567.8900000000000", "0e5"]
        for text in texts { try writer.append(row: [.decimalText(text)]) }
        var sink = InMemoryParquetSink()
        _ = try await writer.finish(to: &sink)
        let read = try await ReadBack.read(sink.bytes)
        let expected = [
            "-0.0000000001", "1500.0000000000", "0.0000000001", "123456789012345678901234567.8900000000", "0.0000000000",
        ]
        #expect(read.pyarrowRows.map { $0[0].stringValue ?? "" } == expected)
        #expect(read.duckdbRows.map { $0[0].stringValue ?? "" } == expected)
    }
}
