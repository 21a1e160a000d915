package import PipelineSettings
package import RecordReaders

/// What one file's ingest needs besides its bytes.
package struct IngestJob: Sendable {
    package var dataset: DatasetDefinition
    package var index: IndexSettings
    /// The named parts of the file's key, for `{key.<name>}` in the index template.
    package var keyParts: [String: String]
    package var ids: RecordIDMaker
    /// Where reading starts (`.start`, or a saved resume point).
    package var start: ReadPosition
    /// The decompressed-stream offset of the source's first byte: `start.byteOffset` for a ranged
    /// read, 0 when the source starts at the beginning of the file.
    package var sourceOffset: Int64
    package var options: ReaderOptions

    package init(
        dataset: DatasetDefinition, index: IndexSettings, keyParts: [String: String] = [:], ids: RecordIDMaker,
        start: ReadPosition = .start, sourceOffset: Int64 = 0, options: ReaderOptions = ReaderOptions()
    ) {
        self.dataset = dataset
        self.index = index
        self.keyParts = keyParts
        self.ids = ids
        self.start = start
        self.sourceOffset = sourceOffset
        self.options = options
    }
}

/// What one run of the engine did (this invocation only; the handler adds earlier attempts).
package struct IngestRunResult: Sendable {
    package enum Ending: Sendable {
        /// Every record of the file was read and sent.
        case completed
        /// Stopped early because the deadline approached; resume at `next`.
        case stopped
        /// The file could not be read further (records before it were sent).
        case unreadable(RecordFileError)
    }

    package var ending: Ending = .completed
    /// Where the next run starts.
    package var next: ReadPosition
    /// Records read (valid or not).
    package var records = 0
    /// Records OpenSearch accepted.
    package var indexed = 0
    /// Records that could not be read, validated, given an id or an index name.
    package var parseFailures = 0
    /// Records OpenSearch refused (or kept failing).
    package var indexFailures = 0
    package var blankLines = 0
    /// Decompressed bytes read.
    package var bytesRead: Int64 = 0
    /// The indices written to, sorted.
    package var indexNames: [String] = []
    package var requests = 0
    package var itemRetries = 0
    package var requestRetries = 0
    /// Bulk NDJSON bytes produced.
    package var bulkBytes: Int64 = 0

    package var failed: Int { parseFailures + indexFailures }
}

/// The streaming ingest: records from a byte source, each turned into an `index` action with a
/// deterministic `_id` and its index name, packed into bulk bodies of at most `chunkBytes`, with up
/// to `concurrency` bodies in flight. Failed records (parse or index) go to the error log. Memory:
/// the reader's window plus `concurrency + 1` bodies.
package struct IngestEngine<Sink: BulkSink>: Sendable {
    package let sink: Sink
    package let chunkBytes: Int
    package let concurrency: Int

    package init(sink: Sink, chunkBytes: Int = 5 << 20, concurrency: Int = 4) {
        precondition(chunkBytes > 0 && concurrency > 0)
        self.sink = sink
        self.chunkBytes = chunkBytes
        self.concurrency = concurrency
    }

    /// Ingests records until the source ends, the file turns out unreadable, or `shouldStop`
    /// answers true (checked between records). Every batch sent has been answered on return.
    /// - Throws: `IngestError` when OpenSearch refuses everything or the error log cannot be written.
    package func run<Source: ByteChunkSource, Log: IngestErrorLog>(
        _ job: IngestJob, source: Source, errors: inout Log, shouldStop: () -> Bool = { false }
    ) async throws(IngestError) -> IngestRunResult {
        let rules = RecordRules(dataset: job.dataset)
        // The stream gets a concrete source type: a stream generic over `Source` made the per-record
        // loop look up generic type metadata on every record.
        let box = SourceBox(source)
        var stream = RecordStream(
            format: job.dataset.format, rules: rules, options: job.options, start: job.start,
            sourceOffset: job.sourceOffset, source: ClosureByteSource { try await box.source.nextChunk() })
        var result = IngestRunResult(next: job.start)
        var namer = IndexNamer(template: job.index.template, dataset: job.dataset.name, keyParts: job.keyParts, rules: rules)
        var knownIndices: Set<String> = []
        var lastIndex = ""
        var actions = IndexActionWriter()
        let flattenNewlines: Bool
        if case .jsonDocument = job.dataset.format { flattenNewlines = true } else { flattenNewlines = false }
        // Locals, not stored properties: reading a property of the generic `self` per record looked
        // up `IngestEngine<Sink>`'s metadata each time (the offsets depend on `Sink`).
        let sink = self.sink
        let chunkBytes = self.chunkBytes
        let concurrency = self.concurrency
        let capacity = chunkBytes + chunkBytes / 8

        do {
            // A finished task hands back its entries (for failure reports) and its body; both are
            // emptied and reused for a later batch: a fresh 5 MiB array (or 2 MiB of entries) would
            // be fresh pages to fault in each time. At most `concurrency + 1` of each exist, spare
            // or not.
            try await withThrowingTaskGroup(of: ([BulkBatch.Entry], BulkBatchOutcome, [UInt8]).self) { group in
                var inFlight = 0
                var batch = BulkBatch(capacity: capacity)
                var spares: [(entries: [BulkBatch.Entry], body: [UInt8])] = []

                func absorb(_ done: ([BulkBatch.Entry], BulkBatchOutcome, [UInt8])) async throws {
                    let (entries, outcome, body) = done
                    defer { spares.append((entries, body)) }
                    result.indexed += outcome.succeeded
                    result.requests += outcome.requests
                    result.itemRetries += outcome.itemRetries
                    result.requestRetries += outcome.requestRetries
                    for failure in outcome.failures {
                        let entry = entries[failure.entry]
                        result.indexFailures += 1
                        try await errors.record(
                            IngestErrorEntry(
                                record: entry.record, offset: entry.offset, id: entry.id, stage: .index, code: failure.type,
                                reason: failure.reason.isEmpty ? "HTTP status \(failure.status)" : failure.reason))
                    }
                }
                func submit() async throws {
                    guard !batch.isEmpty else { return }
                    if inFlight == concurrency, let done = try await group.next() {
                        inFlight -= 1
                        try await absorb(done)
                    }
                    result.bulkBytes += Int64(batch.body.count)
                    let lastCount = batch.entries.count
                    // Handed over in a box the task empties, so once sent the task holds the only
                    // reference to the body and it can be reused in place.
                    let handOver = BatchBox(batch)
                    batch = BulkBatch()
                    group.addTask {
                        let full = handOver.take()
                        let outcome = try await sink.send(full)
                        return (full.entries, outcome, full.body)
                    }
                    inFlight += 1
                    if var spare = spares.popLast() {
                        spare.body.removeAll(keepingCapacity: true)
                        spare.entries.removeAll(keepingCapacity: true)
                        batch = BulkBatch(body: spare.body, entries: spare.entries)
                    } else {
                        batch = BulkBatch(capacity: capacity)
                        batch.entries.reserveCapacity(lastCount + lastCount / 8)
                    }
                }

                var sinceCheck = 0
                while true {
                    sinceCheck += 1
                    if sinceCheck >= 64 {
                        sinceCheck = 0
                        if shouldStop() {
                            result.ending = .stopped
                            break
                        }
                    }
                    let item: RecordItem?
                    do throws(RecordFileError) {
                        if let ready = try stream.nextBuffered() { item = ready } else { item = try await stream.next() }
                    } catch {
                        result.ending = .unreadable(error)
                        break
                    }
                    guard let item = consume item else { break }
                    result.records += 1
                    result.next = item.next
                    // The outcome is taken out of the item, not copied: the record is let go of
                    // before the next one is read, so the reader can reuse its buffers.
                    let number = item.number
                    let startOffset = item.startOffset
                    switch (consume item).outcome {
                    case .failure(let error, _, _):
                        result.parseFailures += 1
                        try await errors.record(
                            IngestErrorEntry(
                                record: number, offset: startOffset, stage: .parse, code: error.code.rawValue,
                                reason: error.reason, field: error.field))
                    case .record(let record):
                        let id: String
                        let index: String
                        do throws(RecordError) {
                            id = try job.ids.id(for: record, number: number)
                        } catch {
                            result.parseFailures += 1
                            try await errors.record(
                                IngestErrorEntry(
                                    record: number, offset: startOffset, stage: .parse, code: error.code.rawValue,
                                    reason: error.reason, field: error.field))
                            continue
                        }
                        do throws(IndexNameTemplate.RenderError) {
                            index = try namer.name(for: record)
                        } catch {
                            result.parseFailures += 1
                            try await errors.record(
                                IngestErrorEntry(
                                    record: number, offset: startOffset, id: id, stage: .parse, code: "InvalidIndexName",
                                    reason: error.description, field: error.field))
                            continue
                        }
                        if index != lastIndex {
                            if !knownIndices.contains(index) {
                                try await sink.ensureIndex(index, settings: job.index)
                                knownIndices.insert(index)
                            }
                            lastIndex = index
                        }
                        let estimate = 40 + index.utf8.count + id.utf8.count + record.document.count
                        if !batch.isEmpty, batch.body.count + estimate > chunkBytes { try await submit() }
                        let start = batch.body.count
                        actions.append(index: index, id: id, document: record.document, to: &batch.body)
                        if flattenNewlines { batch.flattenNewlines(documentBytes: record.document.count) }
                        batch.entries.append(
                            BulkBatch.Entry(index: index, id: id, range: start..<batch.body.count, record: number, offset: startOffset))
                    }
                }
                try await submit()
                while let done = try await group.next() { try await absorb(done) }
            }
        } catch let error as IngestError {
            throw error
        } catch {
            throw IngestError(.openSearch, "bulk indexing failed: \(error)", underlying: error)
        }
        let summary = stream.summary
        result.blankLines = summary.blankLines
        result.bytesRead = summary.bytesRead
        result.indexNames = knownIndices.sorted()
        return result
    }

    /// A batch on its way into a task (taken out once).
    private final class BatchBox: @unchecked Sendable {
        // Written once before the task starts, taken once by it.
        private var batch: BulkBatch?
        init(_ batch: BulkBatch) { self.batch = batch }
        func take() -> BulkBatch {
            defer { batch = nil }
            return batch!
        }
    }

    private final class SourceBox<Source: ByteChunkSource> {
        var source: Source
        init(_ source: Source) { self.source = source }
    }
}
