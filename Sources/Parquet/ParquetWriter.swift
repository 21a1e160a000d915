/// Where a writer's bytes go, in order: the file is the concatenation of every `write`.
package protocol ParquetSink {
    mutating func write(_ bytes: [UInt8]) throws
}

/// An asynchronous destination (an S3 multipart upload, say) for a writer's bytes.
package protocol AsyncParquetSink {
    mutating func write(_ bytes: [UInt8]) async throws
}

/// A sink that keeps the whole file in memory (tests and small outputs).
package struct InMemoryParquetSink: ParquetSink, AsyncParquetSink, Sendable {
    package var bytes: [UInt8] = []
    package init() {}
    package mutating func write(_ bytes: [UInt8]) { self.bytes.append(contentsOf: bytes) }
}

/// How a writer lays out its file.
package struct ParquetWriterOptions: Sendable {
    package var compression: ParquetCompression = .snappy
    /// A row group is cut once the estimated encoded size of its buffered columns reaches this.
    /// Memory held by the writer is a small multiple of it.
    package var rowGroupBytes: Int = 32 << 20
    /// Target uncompressed size of a data page.
    package var dataPageBytes: Int = 1 << 20
    /// A column chunk falls back from dictionary to plain encoding once its dictionary would
    /// exceed this many bytes (plain-encoded).
    package var dictionaryPageBytes: Int = 1 << 20
    /// Try dictionary encoding (every type but booleans and 16-byte decimals).
    package var dictionaryEncoding = true
    /// Key-value metadata for the footer (e.g. the extracts the file was made from).
    package var keyValueMetadata: [(key: String, value: String)] = []
    package var createdBy = "swift-lambda-pipeline version 1.0.0 (build parquet)"

    package init() {}
}

/// What was written, once the footer is out.
package struct ParquetFileSummary: Sendable, Hashable {
    package var rows: Int64
    package var rowGroups: Int
    package var bytes: Int64
}

/// A streaming Parquet writer. Rows (or values through `JSONLinesReader`) are buffered for one
/// row group; once `rowGroupIsFull`, `flushRowGroup(to:)` encodes each column chunk in turn and
/// hands it to the sink, and `finish(to:)` writes the footer. Only one row group is ever held.
///
/// ```swift
/// var writer = ParquetWriter(schema: schema, options: options)
/// for row in rows {
///     try writer.append(row: row)
///     if writer.rowGroupIsFull { try await writer.flushRowGroup(to: &upload) }
/// }
/// let summary = try await writer.finish(to: &upload)
/// ```
package struct ParquetWriter {
    package let schema: ParquetSchema
    package let options: ParquetWriterOptions
    var columns: [ColumnBuffer]
    private var encoder: ChunkEncoder
    private var bytesWritten: Int64 = 0
    private var rowGroups: [RowGroupMetadata] = []
    private var totalRows: Int64 = 0
    private var finished = false
    /// The buffered row count at which the size estimate is next looked at.
    private var nextSizeCheck = 64
    private var full = false

    static let magic: [UInt8] = Array("PAR1".utf8)

    package init(schema: ParquetSchema, options: ParquetWriterOptions = ParquetWriterOptions()) {
        self.schema = schema
        self.options = options
        self.columns = schema.columns.map {
            ColumnBuffer(
                column: $0, dictionaryLimit: options.dictionaryPageBytes, dictionaryEnabled: options.dictionaryEncoding)
        }
        self.encoder = ChunkEncoder(codec: options.compression, pageBytes: options.dataPageBytes)
    }

    /// Rows buffered for the current row group.
    package var bufferedRows: Int { columns[0].rows }

    /// The estimated encoded size of the buffered row group.
    package var estimatedBufferedBytes: Int { columns.reduce(0) { $0 + $1.estimatedBytes } }

    /// Whether the buffered row group has reached `rowGroupBytes` and should be flushed.
    package var rowGroupIsFull: Bool { full }

    /// Called after each row: looks at the size estimate now and then, more often as it nears the limit.
    @inline(__always)
    mutating func rowAppended() {
        let rows = bufferedRows
        guard rows >= nextSizeCheck else { return }
        let estimate = estimatedBufferedBytes
        if estimate >= options.rowGroupBytes {
            full = true
            nextSizeCheck = rows + 1
            return
        }
        let perRow = max(1, estimate / rows)
        nextSizeCheck = rows + max(1, min(4096, (options.rowGroupBytes - estimate) / perRow / 4))
    }

    /// Appends one row, one value per column in schema order.
    /// - Throws: `ParquetError` (`wrongColumnCount`, `typeMismatch`, `nullInRequiredColumn`,
    ///   `valueOutOfRange`, `decimalOutOfPrecision`, `decimalScaleExceeded`, `invalidDecimal`,
    ///   `writerFinished`); nothing of a refused row is kept.
    package mutating func append(row: [ParquetValue]) throws(ParquetError) {
        guard !finished else { throw ParquetError(.writerFinished, "the writer has already written its footer") }
        guard row.count == columns.count else {
            throw ParquetError(.wrongColumnCount, "a row has \(row.count) values for \(columns.count) columns")
        }
        var index = 0
        do throws(ParquetError) {
            while index < row.count {
                try append(row[index], to: index)
                index += 1
            }
        } catch {
            for appended in 0..<index { columns[appended].removeLastRow() }
            throw error
        }
        rowAppended()
    }

    private mutating func append(_ value: ParquetValue, to index: Int) throws(ParquetError) {
        let column = columns[index].column
        func mismatch() -> ParquetError {
            ParquetError(.typeMismatch, "a value of the wrong type for a \(column.type) column", column: column.name)
        }
        switch (column.type, value) {
        case (_, .null):
            try columns[index].appendNull()
        case (.boolean, .boolean(let v)):
            columns[index].appendBool(v)
        case (.int32, .int32(let v)):
            columns[index].appendInt32(v)
        case (.int32, .int64(let v)):
            guard let narrow = Int32(exactly: v) else {
                throw ParquetError(.valueOutOfRange, "an integer outside the int32 range", column: column.name)
            }
            columns[index].appendInt32(narrow)
        case (.int64, .int64(let v)):
            columns[index].appendInt64(v)
        case (.int64, .int32(let v)):
            columns[index].appendInt64(Int64(v))
        case (.double, .double(let v)):
            columns[index].appendDouble(v)
        case (.string, .string(var v)):
            let result = v.withUTF8 { bytes in
                Result { () throws(ParquetError) in try columns[index].appendBytes(UnsafeRawBufferPointer(bytes)) }
            }
            try result.get()
        case (.date, .date(let days)):
            columns[index].appendInt32(days)
        case (.timestampMillis, .timestamp(let millis)):
            columns[index].appendInt64(millis)
        case (.decimal(let precision, _), .decimal(let unscaled)):
            try columns[index].appendDecimal(unscaled, precision: precision)
        case (.decimal(let precision, let scale), .decimalText(var text)):
            let parsed = text.withUTF8 { Decimal128.parse($0, precision: precision, scale: scale) }
            switch parsed {
            case .success(let unscaled): try columns[index].appendDecimal(unscaled, precision: precision)
            case .failure(let failure): throw ParquetError(decimal: failure, precision: precision, scale: scale, column: column.name)
            }
        default:
            throw mismatch()
        }
    }

    // MARK: Writing

    /// Encodes the buffered row group and writes its column chunks to `sink`, one at a time.
    package mutating func flushRowGroup(to sink: inout some ParquetSink) throws {
        guard bufferedRows > 0 else { return }
        if bytesWritten == 0 { try sink.write(Self.magic); bytesWritten = 4 }
        var group = RowGroupMetadata(fileOffset: bytesWritten, rows: Int64(bufferedRows))
        for index in columns.indices { try sink.write(encodeChunk(index, into: &group)) }
        endRowGroup(group)
    }

    /// Encodes the buffered row group and writes its column chunks to `sink`, one at a time.
    package mutating func flushRowGroup(to sink: inout some AsyncParquetSink) async throws {
        guard bufferedRows > 0 else { return }
        if bytesWritten == 0 { try await sink.write(Self.magic); bytesWritten = 4 }
        var group = RowGroupMetadata(fileOffset: bytesWritten, rows: Int64(bufferedRows))
        for index in columns.indices { try await sink.write(encodeChunk(index, into: &group)) }
        endRowGroup(group)
    }

    /// Flushes what is buffered and writes the footer; the writer takes no more rows.
    package mutating func finish(to sink: inout some ParquetSink) throws -> ParquetFileSummary {
        guard !finished else { throw ParquetError(.writerFinished, "the writer has already written its footer") }
        try flushRowGroup(to: &sink)
        if bytesWritten == 0 { try sink.write(Self.magic); bytesWritten = 4 }
        let footer = footerBytes()
        try sink.write(footer)
        return finishSummary(footerCount: footer.count)
    }

    /// Flushes what is buffered and writes the footer; the writer takes no more rows.
    package mutating func finish(to sink: inout some AsyncParquetSink) async throws -> ParquetFileSummary {
        guard !finished else { throw ParquetError(.writerFinished, "the writer has already written its footer") }
        try await flushRowGroup(to: &sink)
        if bytesWritten == 0 { try await sink.write(Self.magic); bytesWritten = 4 }
        let footer = footerBytes()
        try await sink.write(footer)
        return finishSummary(footerCount: footer.count)
    }

    private mutating func encodeChunk(_ index: Int, into group: inout RowGroupMetadata) -> [UInt8] {
        let (bytes, metadata) = encoder.encode(columns[index], fileOffset: bytesWritten)
        columns[index].reset()
        bytesWritten += Int64(bytes.count)
        group.columns.append(metadata)
        return bytes
    }

    private mutating func endRowGroup(_ group: RowGroupMetadata) {
        totalRows += group.rows
        rowGroups.append(group)
        full = false
        nextSizeCheck = 64
    }

    private func footerBytes() -> [UInt8] {
        var footer = FooterWriter.fileMetadata(
            schema: schema, rows: totalRows, rowGroups: rowGroups, keyValue: options.keyValueMetadata,
            createdBy: options.createdBy)
        let length = UInt32(footer.count)
        appendLittleEndian(length, to: &footer)
        footer.append(contentsOf: Self.magic)
        return footer
    }

    private mutating func finishSummary(footerCount: Int) -> ParquetFileSummary {
        finished = true
        bytesWritten += Int64(footerCount)
        return ParquetFileSummary(rows: totalRows, rowGroups: rowGroups.count, bytes: bytesWritten)
    }
}

extension ParquetError {
    init(decimal failure: Decimal128.Failure, precision: Int, scale: Int, column: String, line: Int? = nil) {
        switch failure {
        case .syntax:
            self.init(.invalidDecimal, "text that is not a decimal number", column: column, line: line)
        case .precision:
            self.init(.decimalOutOfPrecision, "more digits than decimal(\(precision),\(scale)) holds", column: column, line: line)
        case .scale:
            self.init(.decimalScaleExceeded, "more fraction digits than scale \(scale)", column: column, line: line)
        }
    }
}
