/// What the footer records of one row group.
struct RowGroupMetadata: Sendable {
    var fileOffset: Int64
    var rows: Int64
    var columns: [ColumnChunkMetadata] = []
}

/// Serialises `FileMetaData` (parquet.thrift) in the Thrift compact protocol.
enum FooterWriter {
    /// `ConvertedType` values.
    enum Converted: Int32 {
        case utf8 = 0
        case decimal = 5
        case date = 6
        case timestampMillis = 9
    }

    static func fileMetadata(
        schema: ParquetSchema, rows: Int64, rowGroups: [RowGroupMetadata], keyValue: [(key: String, value: String)],
        createdBy: String
    ) -> [UInt8] {
        var w = ThriftCompactWriter()
        w.i32(1, 2)  // version
        w.listBegin(2, .struct, count: schema.columns.count + 1)
        w.structElementBegin()  // the root
        w.string(4, "schema")
        w.i32(5, Int32(schema.columns.count))
        w.structEnd()
        for column in schema.columns { schemaElement(column, into: &w) }
        w.i64(3, rows)
        w.listBegin(4, .struct, count: rowGroups.count)
        for group in rowGroups { rowGroup(group, into: &w) }
        if !keyValue.isEmpty {
            w.listBegin(5, .struct, count: keyValue.count)
            for (key, value) in keyValue {
                w.structElementBegin()
                w.string(1, key)
                w.string(2, value)
                w.structEnd()
            }
        }
        w.string(6, createdBy)
        // Every column's statistics follow the order its type defines (TYPE_ORDER).
        w.listBegin(7, .struct, count: schema.columns.count)
        for _ in schema.columns {
            w.structElementBegin()
            w.emptyStruct(1)
            w.structEnd()
        }
        return w.finish()
    }

    static func schemaElement(_ column: ParquetColumn, into w: inout ThriftCompactWriter) {
        w.structElementBegin()
        w.i32(1, column.type.physical.rawValue)
        if column.type.physical == .fixedLenByteArray { w.i32(2, Int32(column.type.fixedLength)) }
        w.i32(3, column.nullable ? 1 : 0)
        w.string(4, column.name)
        switch column.type {
        case .boolean, .int32, .int64, .double:
            break
        case .string:
            w.i32(6, Converted.utf8.rawValue)
            w.structBegin(10)
            w.emptyStruct(1)  // STRING
            w.structEnd()
        case .date:
            w.i32(6, Converted.date.rawValue)
            w.structBegin(10)
            w.emptyStruct(6)  // DATE
            w.structEnd()
        case .timestampMillis:
            w.i32(6, Converted.timestampMillis.rawValue)
            w.structBegin(10)
            w.structBegin(8)  // TIMESTAMP
            w.bool(1, true)  // isAdjustedToUTC
            w.structBegin(2)  // unit
            w.emptyStruct(1)  // MILLIS
            w.structEnd()
            w.structEnd()
            w.structEnd()
        case .decimal(let precision, let scale):
            w.i32(6, Converted.decimal.rawValue)
            w.i32(7, Int32(scale))
            w.i32(8, Int32(precision))
            w.structBegin(10)
            w.structBegin(5)  // DECIMAL
            w.i32(1, Int32(scale))
            w.i32(2, Int32(precision))
            w.structEnd()
            w.structEnd()
        }
        w.structEnd()
    }

    static func rowGroup(_ group: RowGroupMetadata, into w: inout ThriftCompactWriter) {
        w.structElementBegin()
        w.listBegin(1, .struct, count: group.columns.count)
        for chunk in group.columns { columnChunk(chunk, into: &w) }
        w.i64(2, group.columns.reduce(0) { $0 + $1.totalUncompressedSize })
        w.i64(3, group.rows)
        w.i64(5, group.fileOffset)
        w.i64(6, group.columns.reduce(0) { $0 + $1.totalCompressedSize })
        w.structEnd()
    }

    static func columnChunk(_ chunk: ColumnChunkMetadata, into w: inout ThriftCompactWriter) {
        w.structElementBegin()
        w.i64(2, 0)  // file_offset: no ColumnMetaData outside the footer
        w.structBegin(3)
        w.i32(1, chunk.physical.rawValue)
        w.listBegin(2, .i32, count: chunk.encodings.count)
        for encoding in chunk.encodings { w.i32Element(encoding.rawValue) }
        w.listBegin(3, .binary, count: 1)
        w.binaryElement(Array(chunk.path.utf8))
        w.i32(4, chunk.codec.rawValue)
        w.i64(5, chunk.numValues)
        w.i64(6, chunk.totalUncompressedSize)
        w.i64(7, chunk.totalCompressedSize)
        w.i64(9, chunk.dataPageOffset)
        if let offset = chunk.dictionaryPageOffset { w.i64(11, offset) }
        statistics(chunk.statistics, into: &w)
        w.structEnd()
        w.structEnd()
    }

    static func statistics(_ stats: ChunkStatistics, into w: inout ThriftCompactWriter) {
        w.structBegin(12)
        w.i64(3, stats.nullCount)
        if let max = stats.maxValue, let min = stats.minValue {
            w.binary(5, max)
            w.binary(6, min)
            w.bool(7, true)
            w.bool(8, true)
        }
        if let nanCount = stats.nanCount { w.i64(9, nanCount) }
        w.structEnd()
    }
}
