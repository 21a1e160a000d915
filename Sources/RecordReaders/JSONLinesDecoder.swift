/// What a decoder has for its caller.
package enum DecodeStep: Sendable {
    /// A record (read or failed).
    case item(RecordItem)
    /// Feed more input (or call `finish()`).
    case needInput
    /// The input is exhausted; no more records.
    case end
}

/// A synchronous, push-fed record decoder: feed it chunks, take records out. `RecordStream` drives
/// one from a pull-based `ByteChunkSource`; the benchmark and tests may drive one by hand.
package protocol RecordDecoder: Sendable {
    /// Gives the decoder the next chunk of the stream.
    mutating func feed(_ chunk: [UInt8])
    /// Tells the decoder the stream has ended.
    mutating func finish()
    /// The next record, or what the decoder needs.
    /// - Throws: `RecordFileError` when the file as a whole cannot be read further.
    mutating func next() throws(RecordFileError) -> DecodeStep
    var summary: ReaderSummary { get }
}

/// JSON lines: one JSON object per line (LF or CRLF). Each line is validated in full and its
/// selected members located without building a tree; the trimmed line is the document.
///
/// Rules: a leading UTF-8 byte-order mark is skipped; blank lines (white space only) are skipped
/// and counted; a line longer than `maxRecordBytes` is reported as `lineTooLong` and skipped to
/// its newline without being buffered; a last line without a newline is a record (unless the input
/// is a prefix, where it is dropped as cut off).
package struct JSONLinesDecoder: RecordDecoder {
    private let rules: RecordRules
    private let options: ReaderOptions
    private var buffer: InputBuffer
    /// Where the search for the current line's newline resumes.
    private var searchFrom = 0
    private var nextNumber: Int
    private var prelude: StreamPrelude
    /// Set while skipping a line that is too long.
    private var longLine: LongLine?
    private var slots: [ObjectScanner.Slot]
    /// The selected values of the last record. Each record's `ExtractedFields` shares this array;
    /// once the caller has let go of that record, the next one is written in place (no allocation
    /// per record).
    private var values: [FieldValue?]
    package private(set) var summary = ReaderSummary()

    /// - Parameters:
    ///   - start: the first record to read (`.start`, or a saved resume point).
    ///   - sourceOffset: the stream offset of the first byte that will be fed (defaults to
    ///     `start.byteOffset`, as with a ranged GET; 0 when the stream is re-read from its start,
    ///     as with gzip, in which case the bytes before `start` are skipped).
    package init(
        rules: RecordRules, options: ReaderOptions = ReaderOptions(), start: ReadPosition = .start,
        sourceOffset: Int64? = nil
    ) {
        self.rules = rules
        self.options = options
        let sourceOffset = sourceOffset ?? start.byteOffset
        buffer = InputBuffer(baseOffset: sourceOffset)
        nextNumber = start.recordNumber
        prelude = StreamPrelude(start: start, sourceOffset: sourceOffset)
        slots = Array(repeating: ObjectScanner.Slot(), count: rules.selection.count)
        values = Array(repeating: nil, count: rules.selection.count)
    }

    package mutating func feed(_ chunk: [UInt8]) {
        let shift = buffer.append(chunk)
        searchFrom -= shift
        summary.bytesRead += Int64(chunk.count)
    }

    package mutating func finish() { buffer.ended = true }

    package mutating func next() throws(RecordFileError) -> DecodeStep {
        while true {
            guard try prelude.skipToStart(&buffer), prelude.skipByteOrderMark(&buffer, &summary) else {
                searchFrom = buffer.position
                return .needInput
            }
            if let skipping = longLine {
                guard let (endOffset, newline) = skipping.skip(&buffer) else { return .needInput }
                searchFrom = buffer.position
                longLine = nil
                guard
                    let error = skipping.error(
                        end: endOffset, newline: newline, noun: "line", options: options, summary: &summary)
                else { return .end }
                return .item(
                    failure(error, start: skipping.start, end: endOffset, raw: skipping.excerpt[...], truncated: true))
            }
            if let newline = buffer.index(of: 0x0A, from: max(searchFrom, buffer.position)) {
                let start = buffer.position
                buffer.position = newline + 1
                searchFrom = buffer.position
                if newline - start > options.maxRecordBytes {
                    return .item(tooLong(start: start, end: newline, endOffset: buffer.offset(of: newline + 1)))
                }
                if let item = line(from: start, to: newline, endOffset: buffer.offset(of: newline + 1)) {
                    return .item(item)
                }
                continue
            }
            searchFrom = buffer.count
            if buffer.available > options.maxRecordBytes {
                longLine = LongLine(&buffer)
                searchFrom = 0
                continue
            }
            if buffer.ended {
                guard buffer.available > 0 else { return .end }
                let start = buffer.position
                let end = buffer.count
                buffer.position = end
                searchFrom = end
                if options.inputIsPrefix {
                    if !isBlank(start, end) { summary.droppedCutOffRecord = true }
                    return .end
                }
                if let item = line(from: start, to: end, endOffset: buffer.offset(of: end)) { return .item(item) }
                return .end
            }
            return .needInput
        }
    }

    private mutating func tooLong(start: Int, end: Int, endOffset: Int64) -> RecordItem {
        let raw = buffer.bytes[start..<end]
        let (excerpt, truncated) = rawExcerpt(raw)
        return failure(
            RecordError(.lineTooLong, "line is longer than \(options.maxRecordBytes) bytes (\(end - start) bytes)"),
            start: buffer.offset(of: start), end: endOffset, raw: excerpt, truncated: truncated)
    }

    private func isBlank(_ start: Int, _ end: Int) -> Bool {
        var i = start
        while i < end, isJSONWhitespace(buffer.bytes[i]) { i += 1 }
        return i == end
    }

    /// Reads the line `bytes[start..<end]` (without its newline); nil for a blank line.
    private mutating func line(from start: Int, to end: Int, endOffset: Int64) -> RecordItem? {
        let bytes = buffer.bytes
        var first = start
        var last = end
        bytes.withUnsafeBufferPointer { p in
            while first < last, isJSONWhitespace(p[first]) { first += 1 }
            while last > first, isJSONWhitespace(p[last - 1]) { last -= 1 }
        }
        if first == last {
            summary.blankLines += 1
            return nil
        }
        let startOffset = buffer.offset(of: start)
        for k in slots.indices { slots[k] = ObjectScanner.Slot() }
        let failed = bytes.withUnsafeBufferPointer { p in
            ObjectScanner.scan(
                p.baseAddress!, start: first, end: last, maxDepth: options.maxDepth, selection: rules.selection,
                slots: &slots)
        }
        if let failed {
            let (excerpt, truncated) = rawExcerpt(bytes[start..<end])
            return failure(
                RecordError(failed.code, failed.detail), start: startOffset, end: endOffset, raw: excerpt,
                truncated: truncated)
        }
        for k in slots.indices {
            let slot = slots[k]
            values[k] =
                slot.start >= 0 ? FieldValue(kind: slot.kind, raw: bytes[slot.start..<slot.end], hasEscapes: slot.hasEscapes) : nil
        }
        if let violation = rules.violation(in: values) {
            let (excerpt, truncated) = rawExcerpt(bytes[first..<last])
            return failure(violation, start: startOffset, end: endOffset, raw: excerpt, truncated: truncated)
        }
        let record = Record(
            document: bytes[first..<last], fields: ExtractedFields(selection: rules.selection, values: values))
        return summary.item(number: &nextNumber, start: startOffset, end: endOffset, .record(record))
    }

    private mutating func failure(
        _ error: RecordError, start: Int64, end: Int64, raw: ArraySlice<UInt8>, truncated: Bool
    ) -> RecordItem {
        summary.item(number: &nextNumber, start: start, end: end, .failure(error, raw: raw, rawTruncated: truncated))
    }
}
