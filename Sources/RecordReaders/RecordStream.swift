package import PipelineSettings

/// Records read from a pull-based byte source in the dataset's format, in constant memory: the
/// reader holds at most the longest record (bounded by `maxRecordBytes`) plus one chunk.
///
/// ```swift
/// var stream = RecordStream(format: dataset.format, rules: RecordRules(dataset: dataset), source: body)
/// while let item = try await stream.next() {
///     switch item.outcome {
///     case .record(let record): …            // record.document, record.fields["id"]
///     case .failure(let error, let raw, _): …  // to the errors object
///     }
///     progress = item.next                   // resume point
/// }
/// ```
package struct RecordStream<Source: ByteChunkSource> {
    private var decoder: any RecordDecoder
    private var source: Source
    private var sourceEnded = false
    /// The decoder has no record without more input (or has ended): set until it gets input.
    private var stalled = false
    /// The decoder said the records have ended.
    private var ended = false

    /// - Parameters:
    ///   - format: how the records are laid out.
    ///   - rules: what is checked and extracted (`RecordRules(dataset:)`).
    ///   - options: limits; `inputIsPrefix` for samples.
    ///   - start: where to start (`.start` or a saved `RecordItem.next`).
    ///   - sourceOffset: the stream offset of the source's first byte: `start.byteOffset` (the
    ///     default) for a ranged read, 0 when the stream is re-read from the start (gzip). JSON
    ///     documents are always re-read from the start: resume them with `sourceOffset: 0`.
    package init(
        format: RecordFormat, rules: RecordRules, options: ReaderOptions = ReaderOptions(),
        start: ReadPosition = .start,
        sourceOffset: Int64? = nil, source: Source
    ) {
        self.source = source
        switch format {
        case .jsonLines:
            decoder = JSONLinesDecoder(rules: rules, options: options, start: start, sourceOffset: sourceOffset)
        case .csv(let delimiter):
            decoder = CSVDecoder(
                delimiter: delimiter, rules: rules, options: options, start: start, sourceOffset: sourceOffset)
        case .jsonDocument(let pointer, let merge):
            decoder = JSONDocumentDecoder(
                pointer: pointer.tokens, mergeParentFields: merge, rules: rules, options: options, start: start,
                sourceOffset: sourceOffset ?? start.byteOffset)
        }
    }

    /// The next record (read or failed); nil at the end of the file.
    /// - Throws: `RecordFileError` when the file as a whole cannot be read further (after the
    ///   records already returned, which stay valid).
    package mutating func next() async throws(RecordFileError) -> RecordItem? {
        while true {
            if let item = try nextBuffered() { return item }
            if ended { return nil }
            // The decoder needs input.
            if sourceEnded {
                decoder.finish()
                stalled = false
                continue
            }
            let chunk: [UInt8]?
            do {
                chunk = try await source.nextChunk()
            } catch {
                throw RecordFileError(.source, "reading the data failed: \(error)", underlying: error)
            }
            if let chunk {
                decoder.feed(chunk)
            } else {
                sourceEnded = true
                decoder.finish()
            }
            stalled = false
        }
    }

    /// The next record when the input already held gives one, without waiting; nil when more input
    /// is needed or the file has ended (then `next()` tells which). The engine's per-record loop
    /// calls this first, so a record costs no suspension point.
    @inline(__always)
    package mutating func nextBuffered() throws(RecordFileError) -> RecordItem? {
        guard !stalled else { return nil }
        let step = try decoder.next()
        switch consume step {
        case .item(let item): return item
        case .end:
            ended = true
            stalled = true
            return nil
        case .needInput:
            stalled = true
            return nil
        }
    }

    /// What the stream has seen so far.
    package var summary: ReaderSummary { decoder.summary }

    /// The CSV header's names once read (nil for other formats).
    package var csvHeader: [String]? { (decoder as? CSVDecoder)?.header }
}
