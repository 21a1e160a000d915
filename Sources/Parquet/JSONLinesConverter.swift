/// Converts a stream of JSON-lines chunks (any sizes, lines may straddle chunks) into a Parquet
/// file: lines are parsed straight into the writer's columns, and each full row group is flushed
/// to the sink before more is read, so memory stays at one row group plus one chunk.
package struct JSONLinesConverter {
    package private(set) var writer: ParquetWriter
    package private(set) var reader: JSONLinesReader
    /// The start of a line that the last chunk did not finish.
    private var pending: [UInt8] = []

    package init(schema: ParquetSchema, options: ParquetWriterOptions = ParquetWriterOptions(), unknownKeys: JSONLinesReader.UnknownKeys = .ignore) {
        writer = ParquetWriter(schema: schema, options: options)
        reader = JSONLinesReader(schema: schema, unknownKeys: unknownKeys)
    }

    /// Lines read so far.
    package var linesRead: Int { reader.linesRead }

    /// Parses every complete line of `chunk` (after what an earlier chunk left), flushing full
    /// row groups to `sink`.
    /// - Throws: `ParquetError` for a bad line (the conversion should then be abandoned), or
    ///   what the sink throws.
    package mutating func consume(_ chunk: UnsafeRawBufferPointer, to sink: inout some ParquetSink) throws {
        if pending.isEmpty {
            let used = try parse(chunk) { writer in try writer.flushRowGroup(to: &sink) }
            pending.append(contentsOf: chunk[used...])
        } else {
            var buffer = takePending()
            buffer.append(contentsOf: chunk)
            let used = try buffer.withUnsafeBytes { bytes in try parse(bytes) { writer in try writer.flushRowGroup(to: &sink) } }
            buffer.removeSubrange(0..<used)
            pending = buffer
        }
    }

    /// The asynchronous form of `consume(_:to:)`.
    package mutating func consume(_ chunk: [UInt8], to sink: inout some AsyncParquetSink) async throws {
        var buffer = takePending()
        buffer.append(contentsOf: chunk)
        var used = 0
        while true {
            used += try buffer.withUnsafeBytes { bytes in
                try reader.appendLines(UnsafeRawBufferPointer(rebasing: bytes[used...]), to: &writer)
            }
            guard writer.rowGroupIsFull else { break }
            try await writer.flushRowGroup(to: &sink)
        }
        buffer.removeSubrange(0..<used)
        pending = buffer
    }

    /// Moves the pending bytes out (so parsing them does not overlap with changes to `self`).
    private mutating func takePending() -> [UInt8] {
        var taken: [UInt8] = []
        swap(&taken, &pending)
        return taken
    }

    private mutating func parse(_ bytes: UnsafeRawBufferPointer, flush: (inout ParquetWriter) throws -> Void) throws -> Int {
        var used = 0
        while true {
            used += try reader.appendLines(UnsafeRawBufferPointer(rebasing: bytes[used...]), to: &writer)
            guard writer.rowGroupIsFull else { return used }
            try flush(&writer)
        }
    }

    /// Parses a last line without a newline, then writes what is buffered and the footer.
    package mutating func finish(to sink: inout some ParquetSink) throws -> ParquetFileSummary {
        try finishLastLine()
        return try writer.finish(to: &sink)
    }

    /// The asynchronous form of `finish(to:)`.
    package mutating func finish(to sink: inout some AsyncParquetSink) async throws -> ParquetFileSummary {
        try finishLastLine()
        return try await writer.finish(to: &sink)
    }

    private mutating func finishLastLine() throws(ParquetError) {
        guard !pending.isEmpty else { return }
        let line = takePending()
        let result = line.withUnsafeBufferPointer { bytes in
            Result { () throws(ParquetError) in try reader.appendLine(bytes, to: &writer) }
        }
        try result.get()
    }
}
