package import AWSClients
import AWSCore
import HTTPTransport
import JSONCodec
package import LambdaRuntime
import Parquet
package import PipelineCore
package import PipelineSettings
package import Primitives
import RecordReaders
package import StarSchema

/// What became of one object event.
package struct ProcessingOutcome: Sendable, Hashable {
    package enum Kind: String, Sendable, Hashable {
        /// The extract was turned into the star schema and the watermark advanced.
        case processed
        /// This upload's outputs and watermark were written by an earlier attempt that ended before
        /// its status did (status PROCESSED).
        case appliedEarlier
        /// The extract's id is at or below the watermark and it was applied already (from another
        /// upload of it, or before markers were kept): acknowledged without work (status SKIPPED).
        case belowWatermark
        /// The status table says this stage already finished with the file.
        case alreadyDone
        /// Another live invocation holds the file's claim (the SQS record fails, to come back after it).
        case heldByOther
        /// A `latest.json` beside the extracts.
        case latestMarker
        /// Not an extract of this star schema.
        case notAnExtract
        /// An event from a bucket other than the extracts bucket: refused, nothing read or written.
        case foreignBucket
    }

    package var kind: Kind
    package var fileId: String?
    package var rows = 0
    /// Output objects written (Parquet files and state objects), by key.
    package var written: [String] = []
    package var bytes: Int64 = 0
    /// Whether an extract with an id between the watermark and this one was still waiting.
    package var outOfSequence = false
    /// Whether the extract came after a later one of its table had moved the watermark past it (it
    /// is applied all the same; its rows never replace newer versions).
    package var late = false
    /// For `.heldByOther`: when the holder's claim runs out, when known.
    package var claimUntil: Timestamp?
}

/// Turns one table extract into the star schema: facts appended as one Parquet file per extract,
/// touched dimensions rewritten whole from the latest rows of their source tables, the date
/// dimension extended with every new date, then the table's watermark advanced.
///
/// Memory: the extract is streamed (one chunk and one Parquet row group per fact table at a
/// time); dimension sources and dimensions are held whole, as they are small. Cost: the extract's
/// size plus the states and dimensions it touches, never the history of facts.
///
/// Crash safety: every output key is deterministic (`<fact>/<extract>.parquet`,
/// `<dim>/<dim>.parquet`, `_state/<source>.jsonl`) and appears atomically (PutObject, or a
/// multipart upload that is only published when complete), and the watermark moves last. A retry
/// recomputes the same outputs (fact surrogate keys continue from the watermark's row count) and
/// overwrites them; nothing is published twice.
package struct ExtractProcessor: Sendable {
    package let settings: ProcessingSettings
    package let s3: S3Client
    package let status: StatusStore
    package let watermarks: WatermarkStore
    package let engine: StarSchemaEngine
    package let recognizer: ExtractRecognizer
    package let lock: SchemaLock

    package init(
        settings: ProcessingSettings, s3: S3Client, dynamoDB: DynamoDBClient, ssm: SSMClient, catalog: DatasetCatalog,
        engine: StarSchemaEngine, clock: any WallClock = SystemClock()
    ) {
        self.settings = settings
        self.s3 = s3
        self.status = StatusStore(
            dynamoDB: dynamoDB, table: settings.common.statusTable, fileNameIndex: settings.common.statusFileNameIndex, clock: clock)
        self.watermarks = WatermarkStore(
            dynamoDB: dynamoDB, ssm: ssm, table: settings.common.statusTable, parameterPrefix: settings.watermarkPrefix)
        self.engine = engine
        self.recognizer = ExtractRecognizer(catalog: catalog, prefix: settings.extractsPrefix)
        self.lock = SchemaLock(dynamoDB: dynamoDB, table: settings.common.statusTable, schema: engine.spec.name)
    }

    static let stateFolder = "_state/"

    /// Handles the `ObjectCreated` event of `key` in `bucket`.
    /// - Throws: `ProcessingError`; the SQS record then fails and is retried.
    package func process(bucket: String, key: String, context: LambdaContext) async throws(ProcessingError) -> ProcessingOutcome {
        let logger = context.logger.with("key", .string(key)).with("stage", "processing")
        guard bucket == settings.extractsBucket else {
            logger.warn(
                "event from a bucket that is not the extracts bucket: ignored",
                ["bucket": .string(bucket), "code": .string(ForeignBucket.code)])
            context.metrics.increment(ForeignBucket.metric)
            return ProcessingOutcome(kind: .foreignBucket)
        }
        let extract: Extract
        switch recognizer.classify(key) {
        case .latestMarker(let table):
            logger.info("latest.json acknowledged, not processed", ["table": .string(table)])
            return ProcessingOutcome(kind: .latestMarker)
        case .notAnExtract(let reason):
            logger.info("object ignored: not an extract", ["reason": .string(reason)])
            return ProcessingOutcome(kind: .notAnExtract)
        case .extract(let found):
            extract = found
        }
        guard extract.dataset.starSchema == engine.spec.name else {
            logger.warn(
                "object ignored: its dataset names another star schema",
                ["dataset": .string(extract.dataset.name), "starSchema": extract.dataset.starSchema.map(JSON.string) ?? .null])
            return ProcessingOutcome(kind: .notAnExtract)
        }

        let info: S3ObjectInfo
        do {
            info = try await s3.headObject(bucket: bucket, key: key)
        } catch {
            if error.isS3NotFound {
                logger.warn("extract acknowledged: the object is gone", [:])
                return ProcessingOutcome(kind: .notAnExtract)
            }
            throw ProcessingError(.s3, "reading the head of \(key) failed", aws: error)
        }
        let fileId =
            info.metadata[PipelineMetadata.fileId].map(PipelineMetadata.decode)
            ?? FileId.make(dataset: extract.dataset.name, relativePath: extract.relativePath, etag: info.etag, versionId: info.versionId)
        let file = TrackedFile(
            dataset: extract.dataset.name, fileName: extract.fileName, bucket: bucket, key: key, size: info.contentLength,
            etag: info.etag, versionId: info.versionId)
        let fileLogger = logger.with("file", .string(fileId)).with("dataset", .string(extract.dataset.name))
            .with("table", .string(extract.table))

        let claim: ClaimResult
        do {
            claim = try await status.claim(
                fileId: fileId, stage: .processing, file: file, owner: context.requestId, deadline: context.deadline,
                waitingUntil: context.deadline.adding(milliseconds: -settings.common.deadlineMargin.milliseconds))
        } catch {
            throw ProcessingError(.statusStore, error.message, aws: error.aws)
        }
        switch claim {
        case .alreadyDone(let record):
            fileLogger.info("extract already handled: acknowledged", ["status": .string(record.rawStatus ?? "")])
            return ProcessingOutcome(kind: .alreadyDone, fileId: fileId)
        case .heldByOther(let owner, let until, _):
            fileLogger.info(
                "extract held by another invocation: the message is retried after its claim",
                ["owner": owner.map(JSON.string) ?? .null, "until": until.map { .string($0.iso8601()) } ?? .null])
            var held = ProcessingOutcome(kind: .heldByOther, fileId: fileId)
            held.claimUntil = until
            return held
        case .claimed:
            break
        }

        let started = context.clock.now()
        do throws(ProcessingError) {
            var outcome = try await work(extract, key: key, etag: info.etag, fileId: fileId, context: context, logger: fileLogger)
            outcome.fileId = fileId
            let duration = (context.clock.now().nanosecondsSinceEpoch - started.nanosecondsSinceEpoch) / 1_000_000
            let final: StatusOutcome
            if outcome.kind == .appliedEarlier {
                final = StatusOutcome(
                    status: .processed, reason: "the outputs and the watermark were written by an earlier attempt", records: outcome.rows,
                    durationMs: duration)
                fileLogger.info("extract already applied by an earlier attempt: completed", ["status": "PROCESSED", "rows": .number(outcome.rows)])
            } else if outcome.kind == .processed {
                final = StatusOutcome(
                    status: .processed, records: outcome.rows, bytes: outcome.bytes, durationMs: duration,
                    extra: outcome.written.isEmpty ? [:] : ["outputs": .ss(outcome.written)])
                context.metrics.increment("ExtractsProcessed")
                context.metrics.increment("RowsProcessed", by: Double(outcome.rows))
                context.metrics.increment("OutputBytes", by: Double(outcome.bytes), unit: .bytes)
                context.metrics.increment("OutputsWritten", by: Double(outcome.written.count))
                context.metrics.add("ExtractDuration", Double(duration), unit: .milliseconds)
                fileLogger.info(
                    "extract processed",
                    [
                        "status": "PROCESSED", "rows": .number(outcome.rows), "bytes": .number(outcome.bytes),
                        "durationMs": .number(duration), "outputs": .array(outcome.written.map(JSON.string)),
                        "outOfSequence": .bool(outcome.outOfSequence), "late": .bool(outcome.late),
                    ])
            } else {
                final = StatusOutcome(
                    status: .skipped, reason: "extract \(extract.id) of table \(extract.table) is at or below the watermark: already processed",
                    durationMs: duration)
            }
            do {
                try await status.complete(fileId: fileId, stage: .processing, owner: context.requestId, outcome: final)
            } catch {
                throw ProcessingError(.statusStore, error.message, aws: error.aws)
            }
            return outcome
        } catch {
            context.metrics.increment("ExtractsFailed")
            fileLogger.error("extract failed", ["status": "PROCESSING", "reason": .string(error.message), "errorCode": .string(error.code.rawValue)])
            _ = try? await status.release(
                fileId: fileId, stage: .processing, owner: context.requestId, reason: error.message, errorCode: error.code.rawValue)
            throw error
        }
    }

    // MARK: The work, under the schema's lock

    private func work(
        _ extract: Extract, key: String, etag: String?, fileId: String, context: LambdaContext, logger: Logger
    ) async throws(ProcessingError) -> ProcessingOutcome {
        try await acquireLock(context: context, logger: logger)
        do {
            let outcome = try await underLock(extract, key: key, etag: etag, fileId: fileId, context: context, logger: logger)
            await lock.release(owner: context.requestId)
            return outcome
        } catch {
            await lock.release(owner: context.requestId)
            throw error
        }
    }

    private func acquireLock(context: LambdaContext, logger: Logger) async throws(ProcessingError) {
        var waited = false
        while true {
            let now = context.clock.now()
            if try await lock.tryAcquire(owner: context.requestId, deadline: context.deadline, now: now) { return }
            if !waited {
                logger.info("waiting for the star schema's lock", ["schema": .string(engine.spec.name)])
                waited = true
            }
            guard context.remainingTime(now: now) > settings.common.deadlineMargin + settings.lockPollInterval else {
                throw ProcessingError(.busy, "the lock of star schema \(engine.spec.name) stayed taken; the extract will be retried")
            }
            try? await Task.sleep(for: settings.lockPollInterval)
        }
    }

    private func underLock(
        _ extract: Extract, key: String, etag: String?, fileId: String, context: LambdaContext, logger: Logger
    ) async throws(ProcessingError) -> ProcessingOutcome {
        let table = extract.table
        guard let layout = engine.layouts[table] else {
            throw ProcessingError(
                .malformedExtract, "table \(table) is not a source table of star schema \(engine.spec.name)")
        }
        let (watermark, reconciled, markedAbove) = try await watermarks.current(table)
        if reconciled {
            logger.warn("the SSM watermark lagged behind the status table and was rewritten", ["watermark": .number(watermark?.latestRowId ?? 0)])
        }
        var late = false
        if let watermark, extract.id <= watermark.latestRowId {
            // Below the watermark: applied already (its marker says by which upload), or an
            // extract that arrived after a later one and was never applied.
            let applied = try await watermarks.applied(table, extractId: extract.id)
            if let applied, applied.fileId == fileId {
                return ProcessingOutcome(kind: .appliedEarlier, rows: Int(applied.rows))
            }
            if applied != nil || extract.id <= (markedAbove ?? watermark.latestRowId) {
                context.metrics.increment("ExtractsBelowWatermark")
                logger.warn(
                    "extract at or below the watermark: acknowledged without work",
                    ["extractId": .number(extract.id), "watermark": .number(watermark.latestRowId), "status": "SKIPPED"])
                return ProcessingOutcome(kind: .belowWatermark)
            }
            late = true
            context.metrics.increment("LateExtracts")
            logger.warn(
                "extract late: a later extract of the table was applied first; applied now, older than the rows it would replace",
                ["extractId": .number(extract.id), "watermark": .number(watermark.latestRowId)])
        }
        var outcome = ProcessingOutcome(kind: .processed)
        outcome.late = late
        // The sequence check is advisory (a warning and a metric): when the listing fails, say so
        // and go on rather than hold the extract back.
        var waiting: [Int64] = []
        do {
            if !late { waiting = try await earlierExtracts(extract, after: watermark?.latestRowId) }
        } catch {
            context.metrics.increment("SequenceCheckFailed")
            logger.warn("the sequence check could not list the table's extracts", ["reason": .string(error.description)])
        }
        if !waiting.isEmpty {
            outcome.outOfSequence = true
            context.metrics.increment("ExtractsOutOfSequence")
            logger.warn(
                "extract out of sequence: earlier extracts of the table are not processed yet",
                [
                    "extractId": .number(extract.id), "watermark": watermark.map { .number($0.latestRowId) } ?? .null,
                    "waiting": .array(waiting.prefix(20).map { .number($0) }),
                ])
        }

        // The states this extract reads or changes.
        let facts = engine.factPlans(from: table)
        let dimensions = engine.dimensionPlans(touchedBy: table)
        var needed: [String] = engine.keepsState(of: table) ? [table] : []
        for plan in facts + dimensions {
            for name in plan.statesRead where !needed.contains(name) { needed.append(name) }
        }
        // Stream the extract into the fact files and the table's state. A read or write cut off
        // on its way (S3 answers streamed, so the client cannot retry them) is tried once more from
        // the start: the outputs are deterministic and were not published.
        let firstRow = watermark?.rows ?? 0
        var states: [String: SourceState] = [:]
        var dates = Set<Int32>()
        var read: StreamResult
        var attempt = 1
        while true {
            states = [:]
            for name in needed { states[name] = try await loadState(name) }
            dates = []
            do {
                read = try await streamExtract(
                    extract, key: key, etag: etag, layout: layout, facts: facts, firstRow: firstRow, states: &states, dates: &dates)
                break
            } catch where error.code == .s3 && attempt == 1 && context.remainingTime > settings.common.deadlineMargin {
                logger.warn("streaming the extract failed: tried again from the start", ["reason": .string(error.message)])
                context.metrics.increment("ExtractStreamRetries")
                attempt += 1
            }
        }
        outcome.rows = read.rows
        outcome.written += read.written
        outcome.bytes += read.bytes

        // The table's new state, then every dimension it touches, rewritten whole.
        if engine.keepsState(of: table), let state = states[table] {
            let stateKey = Self.stateFolder + table + ".jsonl"
            try await put(stateKey, state.jsonLines(), contentType: "application/x-ndjson")
            outcome.written.append(stateKey)
        }
        for plan in dimensions {
            let rows: [[ParquetValue]]
            do {
                rows = try plan.dimensionRows(states: states)
            } catch {
                throw ProcessingError(.malformedExtract, "dimension \(plan.table.name) could not be built: \(error)")
            }
            for index in engine.referencedDateColumns(of: plan) {
                for row in rows { if case .date(let day) = row[index] { dates.insert(day) } }
            }
            let (dimensionKey, bytes) = try await writeWhole(plan, rows: rows, extractKey: key)
            outcome.written.append(dimensionKey)
            outcome.bytes += bytes
        }
        if let datePlan = engine.datePlan, !dates.isEmpty {
            outcome.written += try await extendDateDimension(datePlan, with: dates, extractKey: key, bytes: &outcome.bytes)
        }

        // Last: the watermark (conditional on the one read above) with the extract's marker. A late
        // extract adds its rows but leaves the watermark at the later extract.
        var next = Watermark(
            latestRowId: extract.id, key: key, timestamp: extract.timestamp ?? "", processedAt: context.clock.now().iso8601(),
            rows: firstRow + Int64(read.rows))
        if late, let watermark {
            next.latestRowId = watermark.latestRowId
            next.key = watermark.key
            next.timestamp = watermark.timestamp
        }
        try await watermarks.advance(
            table, from: watermark, to: next, applying: AppliedExtract(extractId: extract.id, fileId: fileId, rows: Int64(read.rows)))
        context.metrics.increment("TablesWritten", by: Double(outcome.written.filter { !$0.hasPrefix(Self.stateFolder) }.count))
        return outcome
    }

    /// Ids of the table's extracts still in the bucket between the watermark and `extract`.
    private func earlierExtracts(_ extract: Extract, after watermark: Int64?) async throws(ProcessingError) -> [Int64] {
        let objects: [S3ObjectSummary]
        do {
            objects = try await s3.listAllObjects(bucket: settings.extractsBucket, prefix: extract.directory).allObjects()
        } catch {
            throw ProcessingError(.s3, "listing the extracts under \(extract.directory) failed", aws: error)
        }
        var ids: [Int64] = []
        for object in objects {
            guard let id = recognizer.extractId(ofSibling: object.key, table: extract.table), id < extract.id else { continue }
            if let watermark, id <= watermark { continue }
            ids.append(id)
        }
        return ids.sorted()
    }

    private struct StreamResult {
        var rows = 0
        var written: [String] = []
        var bytes: Int64 = 0
    }

    private func streamExtract(
        _ extract: Extract, key: String, etag: String?, layout: SourceLayout, facts: [TablePlan], firstRow: Int64,
        states: inout [String: SourceState], dates: inout Set<Int32>
    ) async throws(ProcessingError) -> StreamResult {
        let keepsState = engine.keepsState(of: extract.table)
        var options = ParquetWriterOptions()
        options.rowGroupBytes = settings.rowGroupBytes
        options.keyValueMetadata = [
            ("pipeline.source_extracts", key), ("pipeline.source_table", extract.table), ("pipeline.star_schema", engine.spec.name),
        ]
        var writers = facts.map { ParquetWriter(schema: $0.schema, options: options) }
        var sinks = facts.map {
            S3ParquetSink(
                s3: s3, bucket: settings.processedBucket, key: "\($0.table.name)/\(extract.baseName).parquet", partSize: settings.partSize,
                metadata: ["pipeline-source-extract": PipelineMetadata.encode(key)])
        }
        let dateColumns = facts.map { engine.referencedDateColumns(of: $0) }
        var result = StreamResult()
        do throws(ProcessingError) {
            let object: S3GetObjectOutput
            do {
                object = try await s3.getObject(bucket: settings.extractsBucket, key: key, ifMatch: etag.map { "\"\(FileId.unquoted($0))\"" })
            } catch {
                throw ProcessingError(.s3, "reading extract \(key) failed", aws: error)
            }
            var stream = RecordStream(
                format: .jsonLines, rules: RecordRules(selection: FieldSelection(layout.columns)), source: S3BodySource(object.body))
            while true {
                let item: RecordItem?
                do {
                    item = try await stream.next()
                } catch {
                    throw ProcessingError(.s3, "reading extract \(key) failed: \(error)")
                }
                guard let item else { break }
                let line = item.number + stream.summary.blankLines
                guard let record = item.record else {
                    let reason = item.error.map { "\($0.code.rawValue): \($0.reason)" } ?? "unreadable"
                    throw ProcessingError(.malformedExtract, "extract \(key) line \(line): \(reason)")
                }
                let row = record.fields.values.map(Self.sourceValue)
                for index in facts.indices {
                    let values: [ParquetValue]
                    do {
                        values = try facts[index].row(row, surrogate: firstRow + Int64(result.rows) + 1, states: states)
                    } catch {
                        throw ProcessingError(.malformedExtract, "extract \(key) line \(line): \(error)")
                    }
                    for column in dateColumns[index] { if case .date(let day) = values[column] { dates.insert(day) } }
                    do {
                        try writers[index].append(row: values)
                    } catch {
                        throw ProcessingError(
                            .malformedExtract, "extract \(key) line \(line): \(facts[index].table.name): \(error)")
                    }
                    if writers[index].rowGroupIsFull {
                        do {
                            try await writers[index].flushRowGroup(to: &sinks[index])
                        } catch {
                            throw ProcessingError(.s3, "writing \(sinks[index].key) failed: \(error)")
                        }
                    }
                }
                if keepsState {
                    do {
                        try states[extract.table]!.upsert(row, extract: extract.id)
                    } catch {
                        throw ProcessingError(.malformedExtract, "extract \(key) line \(line): \(error)")
                    }
                }
                result.rows += 1
            }
            for index in facts.indices {
                do {
                    _ = try await writers[index].finish(to: &sinks[index])
                    try await sinks[index].complete()
                } catch {
                    throw ProcessingError(.s3, "writing \(sinks[index].key) failed: \(error)")
                }
                result.written.append(sinks[index].key)
                result.bytes += sinks[index].bytes
            }
        } catch {
            for index in sinks.indices { await sinks[index].abort() }
            throw error
        }
        return result
    }

    static func sourceValue(_ value: FieldValue?) -> SourceValue {
        guard let value else { return .null }
        switch value.kind {
        case .null: return .null
        case .string: return .string(value.text ?? "")
        case .number: return .number(String(decoding: value.raw, as: UTF8.self))
        case .boolean: return .bool(value.raw.first == UInt8(ascii: "t"))
        case .object: return .nested(kind: "object")
        case .array: return .nested(kind: "array")
        }
    }

    // MARK: State and whole-file outputs

    private func loadState(_ source: String) async throws(ProcessingError) -> SourceState {
        let layout = engine.layouts[source]!
        guard let bytes = try await getIfPresent(Self.stateFolder + source + ".jsonl") else { return SourceState(layout: layout) }
        do {
            return try SourceState.parse(bytes, layout: layout)
        } catch {
            throw ProcessingError(.invalidState, "state object \(Self.stateFolder)\(source).jsonl: \(error)")
        }
    }

    private func getIfPresent(_ key: String) async throws(ProcessingError) -> [UInt8]? {
        do {
            let output = try await s3.getObject(bucket: settings.processedBucket, key: key)
            do {
                return try await output.body.collect(upTo: 512 << 20)
            } catch {
                throw ProcessingError(.s3, "reading \(key) failed: \(error)")
            }
        } catch let error as AWSError {
            if error.isS3NotFound { return nil }
            throw ProcessingError(.s3, "reading \(key) failed", aws: error)
        } catch let error as ProcessingError {
            throw error
        } catch {
            throw ProcessingError(.s3, "reading \(key) failed: \(error)")
        }
    }

    private func put(_ key: String, _ bytes: [UInt8], contentType: String) async throws(ProcessingError) {
        do {
            _ = try await s3.putObject(bucket: settings.processedBucket, key: key, body: bytes, contentType: contentType)
        } catch {
            throw ProcessingError(.s3, "writing \(key) failed", aws: error)
        }
    }

    /// Writes a whole (small) table as `<table>/<table>.parquet`.
    private func writeWhole(_ plan: TablePlan, rows: [[ParquetValue]], extractKey: String) async throws(ProcessingError)
        -> (String, Int64)
    {
        var options = ParquetWriterOptions()
        options.rowGroupBytes = settings.rowGroupBytes
        options.keyValueMetadata = [("pipeline.last_extract", extractKey), ("pipeline.star_schema", engine.spec.name)]
        if !plan.statesRead.isEmpty { options.keyValueMetadata.append(("pipeline.source_tables", plan.statesRead.joined(separator: ","))) }
        var writer = ParquetWriter(schema: plan.schema, options: options)
        var sink = InMemoryParquetSink()
        do {
            for row in rows {
                try writer.append(row: row)
                if writer.rowGroupIsFull { try await writer.flushRowGroup(to: &sink) }
            }
            _ = try await writer.finish(to: &sink)
        } catch {
            throw ProcessingError(.parquet, "\(plan.table.name) could not be written: \(error)")
        }
        let key = "\(plan.table.name)/\(plan.table.name).parquet"
        var upload = S3ParquetSink(s3: s3, bucket: settings.processedBucket, key: key, partSize: settings.partSize)
        do {
            try await upload.write(sink.bytes)
            try await upload.complete()
        } catch {
            await upload.abort()
            throw ProcessingError(.s3, "writing \(key) failed: \(error)")
        }
        return (key, Int64(sink.bytes.count))
    }

    /// Adds `dates` to the date dimension; rewrites it (and its state) only when one is new.
    private func extendDateDimension(_ plan: TablePlan, with dates: Set<Int32>, extractKey: String, bytes: inout Int64)
        async throws(ProcessingError) -> [String]
    {
        let stateKey = Self.stateFolder + plan.table.name + ".jsonl"
        var known = Set<Int32>()
        if let existing = try await getIfPresent(stateKey) {
            for line in existing.split(separator: 0x0A) where !line.isEmpty {
                guard let text = (try? JSONParser.parse(line))?["date_id"]?.stringValue, let day = Temporal.days(text) else {
                    throw ProcessingError(.invalidState, "state object \(stateKey) has a line that is not {\"date_id\": \"yyyy-MM-dd\"}")
                }
                known.insert(day)
            }
        }
        guard !dates.isSubset(of: known) else { return [] }
        let all = known.union(dates).sorted()
        let (key, written) = try await writeWhole(plan, rows: all.map(DateDimension.row), extractKey: extractKey)
        bytes += written
        var state: [UInt8] = []
        for day in all {
            JSONWriter.write(["date_id": .string(Timestamp(secondsSinceEpoch: Int64(day) * 86_400).isoDate)], to: &state)
            state.append(0x0A)
        }
        try await put(stateKey, state, contentType: "application/x-ndjson")
        return [key, stateKey]
    }
}

/// The SQS-of-S3 object handler around `ExtractProcessor`.
package struct ProcessingObjectHandler: S3ObjectHandler {
    package let processor: ExtractProcessor

    package init(processor: ExtractProcessor) { self.processor = processor }

    package func handle(_ object: S3EventRecord, message: SQSRecord, context: LambdaContext) async throws {
        let outcome = try await processor.process(bucket: object.bucketName, key: object.key, context: context)
        if outcome.kind == .heldByOther {
            throw PipelineCoreError.claimHeld(key: object.key, until: outcome.claimUntil, now: context.clock.now())
        }
    }
}
