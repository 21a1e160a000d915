import JSONCodec
import Parquet
import Primitives
import Testing
import TestSupport

/// A table with every type, nulls in every nullable column, and awkward values.
enum AllTypes {
    static let schema = try! ParquetSchema([
        ParquetColumn("flag", .boolean),
        ParquetColumn("small", .int32),
        ParquetColumn("big", .int64, nullable: false),
        ParquetColumn("ratio", .double),
        ParquetColumn("name", .string),
        ParquetColumn("day", .date),
        ParquetColumn("at", .timestampMillis),
        ParquetColumn("price", .decimal(precision: 9, scale: 2)),
        ParquetColumn("amount", .decimal(precision: 18, scale: 4)),
        ParquetColumn("huge", .decimal(precision: 38, scale: 10)),
    ])

    static let rows: [[ParquetValue]] = [
        [
            .boolean(true), .int32(Int32.max), .int64(Int64.max), .double(1.5), .string("plain"),
            .date(daysSinceEpoch: 19_867), .timestamp(millisecondsSinceEpoch: 1_716_550_496_123),
            .decimalText("9999999.99"), .decimal(unscaled: 999_999_999_999_999_999),
            .decimalText("9999999999999999999999999999.9999999999"),
        ],
        [
            .boolean(false), .int32(Int32.min), .int64(Int64.min), .double(-0.1), .string(""),
            .date(daysSinceEpoch: -25_000), .timestamp(millisecondsSinceEpoch: -1), .decimalText("-9999999.99"),
            .decimal(unscaled: -999_999_999_999_999_999), .decimalText("-9999999999999999999999999999.9999999999"),
        ],
        [.null, .null, .int64(0), .null, .null, .null, .null, .null, .null, .null],
        [
            .boolean(true), .int32(0), .int64(-42), .double(6.02214076e23), .string("Zürich – 東京 🚚"),
            .date(daysSinceEpoch: 0), .timestamp(millisecondsSinceEpoch: -86_400_001), .decimalText("0.01"),
            .decimalText("-0.0001"), .decimal(unscaled: 1),
        ],
        [
            .boolean(false), .int64(7), .int32(9), .double(-0.0), .string("plain"), .date(daysSinceEpoch: -1),
            .timestamp(millisecondsSinceEpoch: 253_402_300_799_999), .decimal(unscaled: 0), .decimalText("12.5"),
            .decimalText("-0.0000000001"),
        ],
    ]

    static func write(_ options: ParquetWriterOptions, rows: [[ParquetValue]] = rows) throws -> [UInt8] {
        var writer = ParquetWriter(schema: schema, options: options)
        var sink = InMemoryParquetSink()
        for row in rows {
            try writer.append(row: row)
            if writer.rowGroupIsFull { try writer.flushRowGroup(to: &sink) }
        }
        _ = try writer.finish(to: &sink)
        return sink.bytes
    }
}

/// Compares every value both readers returned with what was written.
func expectRows(_ read: ReadBack, _ rows: [[ParquetValue]], _ schema: ParquetSchema, sourceLocation: SourceLocation = #_sourceLocation) {
    for (reader, actual) in [("pyarrow", read.pyarrowRows), ("duckdb", read.duckdbRows)] {
        #expect(actual.count == rows.count, "\(reader) row count", sourceLocation: sourceLocation)
        for (r, (row, got)) in zip(rows, actual).enumerated() {
            for (c, column) in schema.columns.enumerated() {
                let value = c < got.count ? got[c] : JSON.string("<missing>")
                #expect(
                    Expected.matches(value, row[c], as: column.type),
                    "\(reader) row \(r) column \(column.name): got \(value.text), wrote \(row[c])",
                    sourceLocation: sourceLocation)
            }
        }
    }
}

@Suite("Parquet writer read back by pyarrow and duckdb")
struct ParquetWriterTests {
    @Test(
        "Every type, with nulls and edge values, reads back exactly with the right types",
        arguments: [ParquetCompression.snappy, .uncompressed])
    func everyType(compression: ParquetCompression) async throws {
        var options = ParquetWriterOptions()
        options.compression = compression
        let read = try await ReadBack.read(try AllTypes.write(options))
        #expect(
            read.pyarrowTypes == [
                "bool", "int32", "int64", "double", "string", "date32[day]", "timestamp[ms, tz=UTC]",
                "decimal128(9, 2)", "decimal128(18, 4)", "decimal128(38, 10)",
            ])
        #expect(
            read.duckdbTypes == [
                "BOOLEAN", "INTEGER", "BIGINT", "DOUBLE", "VARCHAR", "DATE", "TIMESTAMP WITH TIME ZONE",
                "DECIMAL(9,2)", "DECIMAL(18,4)", "DECIMAL(38,10)",
            ])
        let nullable = read.pyarrow["columns"]?.arrayValue?.map { $0["nullable"]?.boolValue ?? true }
        #expect(nullable == [true, true, false, true, true, true, true, true, true, true])
        expectRows(read, AllTypes.rows, AllTypes.schema)
        let expectedCodec = compression == .snappy ? "SNAPPY" : "UNCOMPRESSED"
        for column in 0..<AllTypes.schema.columns.count {
            #expect(read.statistics(group: 0, column: column)?["compression"]?.stringValue == expectedCodec)
        }
    }

    @Test("Statistics hold the signed, numeric and bytewise min and max and the null count")
    func statistics() async throws {
        let read = try await ReadBack.read(try AllTypes.write(ParquetWriterOptions()))
        func stats(_ column: Int) -> (JSON?, JSON?, Int?) {
            let s = read.statistics(group: 0, column: column)
            return (s?["min"], s?["max"], s?["null_count"]?.intValue)
        }
        #expect(stats(0) == (.bool(false), .bool(true), 1))
        #expect(stats(1) == (.number(String(Int32.min)), .number(String(Int32.max)), 1))
        #expect(stats(2) == (.number(String(Int64.min)), .number(String(Int64.max)), 0))
        let ratio = stats(3)
        #expect(ratio.0?.doubleValue == -0.1 && ratio.1?.doubleValue == 6.02214076e23 && ratio.2 == 1)
        // Bytewise UTF-8 order: "" < "Zürich..." < "plain".
        #expect(stats(4) == (.string(""), .string("plain"), 1))
        #expect(stats(5) == (.string(Timestamp(secondsSinceEpoch: -25_000 * 86_400).isoDate), .string("2024-05-24"), 1))
        #expect(stats(6) == (.number("-86400001"), .number("253402300799999"), 1))
        #expect(stats(7) == (.string("-9999999.99"), .string("9999999.99"), 1))
        #expect(stats(8) == (.string("-99999999999999.9999"), .string("99999999999999.9999"), 1))
        #expect(
            stats(9)
                == (
                    .string("-9999999999999999999999999999.9999999999"),
                    .string("9999999999999999999999999999.9999999999"), 1
                ))
    }

    @Test("All-null columns read back as nulls, with null counts and no min or max")
    func allNull() async throws {
        let schema = try ParquetSchema(AllTypes.schema.columns.map { ParquetColumn($0.name, $0.type, nullable: true) })
        let rows = [[ParquetValue]](repeating: [ParquetValue](repeating: .null, count: schema.columns.count), count: 5)
        var writer = ParquetWriter(schema: schema)
        var sink = InMemoryParquetSink()
        for row in rows { try writer.append(row: row) }
        let summary = try await writer.finish(to: &sink)
        #expect(summary.rows == 5 && summary.rowGroups == 1 && summary.bytes == Int64(sink.bytes.count))
        let read = try await ReadBack.read(sink.bytes)
        expectRows(read, rows, schema)
        for column in schema.columns.indices {
            #expect(read.statistics(group: 0, column: column)?["null_count"]?.intValue == 5)
            #expect(read.statistics(group: 0, column: column)?["has_min_max"]?.boolValue == false)
        }
    }

    @Test("Small row groups: the file is cut into several, each with its own statistics")
    func severalRowGroups() async throws {
        let schema = try ParquetSchema([
            ParquetColumn("id", .int64, nullable: false), ParquetColumn("city", .string),
            ParquetColumn("at", .timestampMillis),
        ])
        var options = ParquetWriterOptions()
        options.rowGroupBytes = 16 << 10
        options.dataPageBytes = 2 << 10
        let cities = ["Aberdeen", "Bergen", "Cork", "Dijon", "Évora", "Faro"]
        let rows: [[ParquetValue]] = (0..<5000).map { i in
            [
                .int64(Int64(i) * 3 - 7000), i % 11 == 0 ? .null : .string(cities[i % cities.count]),
                .timestamp(millisecondsSinceEpoch: 1_700_000_000_000 + Int64(i) * 1001),
            ]
        }
        var writer = ParquetWriter(schema: schema, options: options)
        var sink = InMemoryParquetSink()
        var groupSizes: [Int] = []
        for row in rows {
            try writer.append(row: row)
            if writer.rowGroupIsFull {
                groupSizes.append(writer.bufferedRows)
                try await writer.flushRowGroup(to: &sink)
            }
        }
        groupSizes.append(writer.bufferedRows)
        let summary = try await writer.finish(to: &sink)
        #expect(summary.rowGroups == groupSizes.count)
        #expect(groupSizes.count > 2)
        let read = try await ReadBack.read(sink.bytes)
        expectRows(read, rows, schema)
        #expect(read.rowGroups.map { $0["num_rows"]?.intValue ?? -1 } == groupSizes)
        var start = 0
        for (g, size) in groupSizes.enumerated() {
            let slice = rows[start..<(start + size)]
            let ids = slice.map { row -> Int64 in if case .int64(let v) = row[0] { v } else { 0 } }
            #expect(read.statistics(group: g, column: 0)?["min"] == .number(String(ids.min()!)))
            #expect(read.statistics(group: g, column: 0)?["max"] == .number(String(ids.max()!)))
            let nulls = slice.filter { $0[1] == .null }.count
            #expect(read.statistics(group: g, column: 1)?["null_count"]?.intValue == nulls)
            start += size
        }
    }

    @Test("Low-cardinality columns are dictionary-encoded; a dictionary past its limit falls back to plain")
    func dictionaryAndFallback() async throws {
        let schema = try ParquetSchema([
            ParquetColumn("currency", .string), ParquetColumn("note", .string), ParquetColumn("qty", .int32),
            ParquetColumn("serial", .int64),
        ])
        var options = ParquetWriterOptions()
        options.dictionaryPageBytes = 4 << 10
        let currencies = ["EUR", "GBP", "USD", "CHF"]
        let rows: [[ParquetValue]] = (0..<3000).map { i in
            [
                .string(currencies[i % 4]), .string("note number \(i) with some text"), .int32(Int32(i % 7)),
                .int64(Int64(i) * 1_000_003),
            ]
        }
        var writer = ParquetWriter(schema: schema, options: options)
        var sink = InMemoryParquetSink()
        for row in rows { try writer.append(row: row) }
        _ = try await writer.finish(to: &sink)
        let read = try await ReadBack.read(sink.bytes)
        expectRows(read, rows, schema)
        func encodings(_ column: Int) -> [String] {
            read.statistics(group: 0, column: column)?["encodings"]?.arrayValue?.compactMap(\.stringValue) ?? []
        }
        #expect(encodings(0).contains("RLE_DICTIONARY"))
        #expect(!encodings(1).contains("RLE_DICTIONARY"))
        #expect(encodings(2).contains("RLE_DICTIONARY"))
        #expect(!encodings(3).contains("RLE_DICTIONARY"))
        #expect(read.statistics(group: 0, column: 1)?["min"] == .string("note number 0 with some text"))
        #expect(read.statistics(group: 0, column: 1)?["max"] == .string("note number 999 with some text"))
    }

    @Test("Key-value metadata naming the source extracts and created_by are in the footer")
    func keyValueMetadata() async throws {
        var options = ParquetWriterOptions()
        options.keyValueMetadata = [
            ("source_extracts", #"["s3://ingest/orders/0001-20240524.jsonl","s3://ingest/orders/0002-20240524.jsonl"]"#),
            ("pipeline", "processing"),
        ]
        let read = try await ReadBack.read(try AllTypes.write(options))
        #expect(
            read.pyarrow["metadata"]?["source_extracts"]?.stringValue
                == #"["s3://ingest/orders/0001-20240524.jsonl","s3://ingest/orders/0002-20240524.jsonl"]"#)
        #expect(read.pyarrow["metadata"]?["pipeline"]?.stringValue == "processing")
        #expect(read.pyarrow["created_by"]?.stringValue == options.createdBy)
    }

    @Test("A file with no rows still has its schema")
    func noRows() async throws {
        var writer = ParquetWriter(schema: AllTypes.schema)
        var sink = InMemoryParquetSink()
        let summary = try await writer.finish(to: &sink)
        #expect(summary.rows == 0 && summary.rowGroups == 0)
        let read = try await ReadBack.read(sink.bytes)
        #expect(read.pyarrowRows.isEmpty && read.duckdbRows.isEmpty)
        #expect(read.duckdbTypes.count == AllTypes.schema.columns.count)
    }

    @Test("An async sink receives the same bytes as a synchronous one")
    func asyncSink() async throws {
        actor Collector {
            var bytes: [UInt8] = []
            var writes = 0
            func add(_ chunk: [UInt8]) {
                bytes += chunk
                writes += 1
            }
        }
        struct CollectingSink: AsyncParquetSink {
            let collector: Collector
            mutating func write(_ bytes: [UInt8]) async throws { await collector.add(bytes) }
        }
        let collector = Collector()
        var sink = CollectingSink(collector: collector)
        var writer = ParquetWriter(schema: AllTypes.schema)
        for row in AllTypes.rows { try writer.append(row: row) }
        _ = try await writer.finish(to: &sink)
        let bytes = await collector.bytes
        #expect(bytes == (try AllTypes.write(ParquetWriterOptions())))
        // The magic, one write per column chunk, then the footer.
        #expect(await collector.writes == 2 + AllTypes.schema.columns.count)
    }
}
