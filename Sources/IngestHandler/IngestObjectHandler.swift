package import AWSClients
import AWSCore
import Gzip
import HTTPTransport
import JSONCodec
package import LambdaRuntime
package import PipelineCore
package import PipelineSettings
package import Primitives
import RecordReaders

/// How a file ended, as the status row, the log and the metrics say it.
package struct IngestOutcome: Sendable, Hashable {
    package var fileId: String
    package var status: FileStatus
    package var reason: String?
    package var errorCode: String?
    package var records: Int
    package var indexed: Int
    package var failed: Int
    package var skipped: Int
    package var indexNames: [String]
    package var bytes: Int64
    package var durationMs: Int64
    /// Where the file was filed (`processed/…` or `failed/…`).
    package var destinationKey: String?
    /// Whether an errors object was written.
    package var errorsObjectKey: String?
}

/// What `ingest` did with an event.
package enum IngestDisposition: Sendable, Hashable {
    /// The file was ingested and filed.
    case finished(IngestOutcome)
    /// The status table says the file is done (a duplicate delivery): nothing was done again.
    case alreadyDone(FileStatus?)
    /// Another live invocation holds the claim (until `until`, when known): the SQS record fails,
    /// to come back after the claim (the holder may be working on a copy of this very message, and
    /// may die).
    case heldByOther(owner: String?, until: Timestamp?)
    /// Not an object this handler acts on (not under `in/` of the ingest bucket).
    case ignored(String)
}

/// The ingest handler's business logic for one created object in `in/<dataset>/…` of the ingest
/// bucket: claim, stream into OpenSearch, write the errors object, file the object under
/// `processed/` or `failed/`, record the outcome; save progress and let SQS redeliver when the
/// deadline comes first.
package struct IngestObjectHandler<Sink: BulkSink>: S3ObjectHandler {
    package let settings: IngestSettings
    package let catalog: DatasetCatalog
    package let s3: S3Client
    package let status: StatusStore
    package let mover: FileMover
    package let sink: Sink

    package init(settings: IngestSettings, catalog: DatasetCatalog, s3: S3Client, status: StatusStore, mover: FileMover, sink: Sink) {
        self.settings = settings
        self.catalog = catalog
        self.s3 = s3
        self.status = status
        self.mover = mover
        self.sink = sink
    }

    /// Whether the source failed on the way (the network, S3 unavailable) rather than in its bytes.
    static func isTransient(_ error: RecordFileError) -> Bool {
        guard error.code == .source, let underlying = error.underlying else { return false }
        if let http = underlying as? HTTPError { return http.isTransient }
        if let aws = underlying as? AWSError { return RetryStrategy.classify(aws) != nil }
        return false
    }

    package func handle(_ object: S3EventRecord, message: SQSRecord, context: LambdaContext) async throws {
        if case .heldByOther(_, let until) = try await ingest(
            bucket: object.bucketName, key: object.key, eventETag: object.eTag, context: context)
        {
            throw PipelineCoreError.claimHeld(key: object.key, until: until, now: context.clock.now())
        }
    }

    /// Ingests one object.
    /// - Throws: `IngestError` when the file must be tried again (OpenSearch or S3 unavailable,
    ///   the deadline reached with progress saved); the claim is released first.
    package func ingest(bucket: String, key: String, eventETag: String? = nil, context: LambdaContext) async throws(IngestError)
        -> IngestDisposition
    {
        let started = context.clock.now()
        var logger = context.logger.with("stage", "ingest").with("key", .string(key))
        guard bucket == settings.ingestBucket else {
            logger.warn(
                "event from a bucket that is not the ingest bucket: ignored",
                ["bucket": .string(bucket), "code": .string(ForeignBucket.code)])
            context.metrics.increment(ForeignBucket.metric)
            return .ignored("bucket \(bucket) is not the ingest bucket")
        }
        guard let keys = IngestKeys(incomingKey: key) else {
            logger.info("object ignored: not under in/<dataset>/ of the ingest bucket", ["bucket": .string(bucket)])
            return .ignored("not under in/<dataset>/ of \(settings.ingestBucket)")
        }
        logger = logger.with("dataset", .string(keys.dataset))
        guard let dataset = catalog.dataset(named: keys.dataset) else {
            throw IngestError(.unknownDataset, "no dataset named '\(keys.dataset)' in the catalog (key \(key))")
        }
        guard let indexSettings = dataset.index else {
            throw IngestError(.noIndexSettings, "dataset '\(dataset.name)' has no index settings")
        }

        // Identify the file: its head (size, ETag, the pipeline metadata) when it is there.
        var head: S3ObjectInfo?
        do {
            head = try await s3.headObject(bucket: bucket, key: key)
        } catch {
            guard error.isS3NotFound else { throw IngestError(.storage, "HeadObject \(key) failed: \(error)", underlying: error) }
        }
        let incomingExists = head != nil
        if head == nil {
            // Gone from in/: a redelivery after the file was filed. Its filed copy carries its identity.
            head = try await filedCopy(keys: keys, eventETag: eventETag)
            guard head != nil else {
                logger.info("object ignored: it no longer exists and no filed copy of it was found")
                return .ignored("\(key) no longer exists")
            }
        }
        let etag = head?.metadata[PipelineMetadata.sourceETag].map(PipelineMetadata.decode) ?? head?.etag ?? eventETag
        var fileId =
            head?.metadata[PipelineMetadata.fileId].map(PipelineMetadata.decode)
            ?? FileId.make(dataset: keys.dataset, relativePath: keys.rest, etag: etag, versionId: head?.versionId)
        if !incomingExists, head?.metadata[PipelineMetadata.fileId] == nil, let unfinished = try await unfinishedFileId(keys) {
            // A filed copy without its file id (a key too long for it beside S3's 2 KB) names the
            // ETag of the copy it was made from, not the original's the id was made from: the
            // unfinished row of this key says which file it is.
            fileId = unfinished
        }
        logger = logger.with("file", .string(fileId))
        let tracked = TrackedFile(
            dataset: keys.dataset, fileName: keys.rest, bucket: bucket, key: key, size: head?.objectSize, etag: etag,
            versionId: head?.versionId)

        let claim: ClaimResult
        do {
            claim = try await status.claim(
                fileId: fileId, stage: .ingest, file: tracked, owner: context.requestId, deadline: context.deadline,
                waitingUntil: context.deadline.adding(milliseconds: -settings.common.deadlineMargin.milliseconds))
        } catch {
            throw IngestError(.statusStore, "\(error)", underlying: error)
        }
        let previous: StatusRecord
        switch claim {
        case .alreadyDone(let record):
            logger.info("file already ingested: acknowledged without doing it again", ["status": .string(record.rawStatus ?? "")])
            context.metrics.increment("DuplicateDeliveries")
            // A second copy of a file already filed (the dropbox copied it again after a crash):
            // remove it from in/, once the filed copy of the same content is found.
            // The filed copy names the ETag of the object it was copied from (this one, or an
            // identical copy of it), not the dropbox original's that `etag` may be: a multipart
            // upload's `…-N` is not the ETag of its copy under in/.
            if incomingExists, try await filedCopy(keys: keys, eventETag: head?.etag ?? etag) != nil {
                do {
                    try await s3.deleteObject(bucket: bucket, key: key)
                } catch {
                    throw IngestError(.storage, "deleting the duplicate \(key) failed: \(error)", underlying: error)
                }
                logger.info("a duplicate copy of a filed file removed from in/")
            }
            return .alreadyDone(record.status)
        case .heldByOther(let owner, let until, _):
            logger.info(
                "file claimed by another invocation: the message is retried after its claim",
                ["owner": owner.map(JSON.string) ?? .null, "until": until.map { .string($0.iso8601()) } ?? .null])
            return .heldByOther(owner: owner, until: until)
        case .claimed(let record):
            previous = record
        }

        do {
            let outcome = try await work(
                keys: keys, dataset: dataset, index: indexSettings, fileId: fileId, head: incomingExists ? head : nil, etag: etag,
                previous: previous,
                started: started, context: context, logger: logger)
            return .finished(outcome)
        } catch {
            // A claim ended by a final status (the source left behind) or kept for a resume stays as it is.
            if error.code != .deadlineReached, error.code != .sourceLeft {
                do {
                    try await status.release(
                        fileId: fileId, stage: .ingest, owner: context.requestId, reason: error.detail, errorCode: error.code.rawValue)
                } catch {
                    logger.warn("releasing the claim failed", ["reason": .string("\(error)")])
                }
            }
            throw error
        }
    }

    /// The id of this key's unfinished ingest row, if any (the newest).
    private func unfinishedFileId(_ keys: IngestKeys) async throws(IngestError) -> String? {
        do {
            return try await status.history(fileName: keys.rest)
                .last { $0.stage == .ingest && $0.key == keys.incoming && $0.status?.isFinal == false }?.fileId
        } catch {
            throw IngestError(.statusStore, "\(error)", underlying: error)
        }
    }

    /// The head of the file's copy under `processed/` or `failed/` made from this version
    /// (`pipeline-source-etag` equal to the event's ETag, when the event has one).
    private func filedCopy(keys: IngestKeys, eventETag: String?) async throws(IngestError) -> S3ObjectInfo? {
        for candidate in [keys.processed, keys.failed] {
            do {
                let info = try await s3.headObject(bucket: settings.ingestBucket, key: candidate)
                let recorded = info.metadata[PipelineMetadata.sourceETag].map(PipelineMetadata.decode)
                if let eventETag, recorded != FileId.unquoted(eventETag) { continue }
                return info
            } catch {
                if error.isS3NotFound { continue }
                throw IngestError(.storage, "HeadObject \(candidate) failed: \(error)", underlying: error)
            }
        }
        return nil
    }

    private func work(
        keys: IngestKeys, dataset: DatasetDefinition, index: IndexSettings, fileId: String, head: S3ObjectInfo?, etag: String?,
        previous: StatusRecord, started: Timestamp, context: LambdaContext, logger: Logger
    ) async throws(IngestError) -> IngestOutcome {
        let bucket = settings.ingestBucket
        let source = S3ObjectRef(bucket: bucket, key: keys.incoming)
        let moveMetadata = PipelineMetadata.make(
            fileId: fileId, dataset: keys.dataset, sourceKey: keys.incoming, sourceETag: etag ?? "")
        guard let head else {
            return try await recoverMovedFile(keys: keys, fileId: fileId, etag: etag, previous: previous, started: started, logger: logger)
        }

        // Where to start: a saved resume point of an earlier attempt, or the beginning.
        var start = ReadPosition.start
        if let offset = previous.progressOffset, let record = previous.progressRecord, offset > 0 || record > 1 {
            start = ReadPosition(byteOffset: offset, recordNumber: record)
        }
        let earlier = IngestCounts(records: start.recordNumber - 1, record: previous)
        let resuming = start != .start

        let gzipSetting = dataset.isGzip(key: keys.incoming)
        var compression: ObjectByteSource.Compression =
            switch gzipSetting {
            case true?: .gzip
            case false?: .none
            case nil: .detect
            }
        if resuming, compression == .detect {
            let prefix: [UInt8]
            do {
                prefix = try await s3.readPrefix(bucket: bucket, key: keys.incoming, count: 2)
            } catch {
                throw IngestError(.storage, "reading the start of \(keys.incoming) failed: \(error)", underlying: error)
            }
            compression = Gzip.hasMagic(prefix) ? .gzip : .none
        }
        // A ranged read resumes plain JSON lines where they stopped; gzip, CSV (its header) and JSON
        // documents are read from the start and the reader skips to the resume point.
        let ranged = resuming && compression == .none && dataset.format == .jsonLines
        if ranged, start.byteOffset >= head.objectSize {
            start = ReadPosition(byteOffset: head.objectSize, recordNumber: start.recordNumber)
        }
        let output: S3GetObjectOutput?
        do {
            if ranged, start.byteOffset >= head.objectSize {
                output = nil
            } else {
                output = try await s3.getObject(
                    bucket: bucket, key: keys.incoming, range: ranged ? start.byteOffset...(head.objectSize - 1) : nil,
                    ifMatch: head.etag)
            }
        } catch {
            if error.isS3NotFound {
                return try await recoverMovedFile(keys: keys, fileId: fileId, etag: etag, previous: previous, started: started, logger: logger)
            }
            throw IngestError(.storage, "GetObject \(keys.incoming) failed: \(error)", underlying: error)
        }
        let body = output?.body
        let bytes = ObjectByteSource(compression: compression) { () async throws -> [UInt8]? in try await body?.next() }

        var errors = ErrorsObjectWriter(s3: s3, bucket: bucket, key: keys.errors)
        if resuming { try await errors.carryOver(before: start.recordNumber) }

        var options = ReaderOptions()
        options.maxRecordBytes = settings.maxRecordBytes
        let ids = RecordIDMaker(
            dataset: dataset, generateIDs: settings.generateIDs,
            file: FileIdentity(bucket: bucket, key: keys.incoming, version: FileId.unquoted(etag ?? "")))
        let keyParts = head.metadata[PipelineMetadata.sourceKey].map(PipelineMetadata.decode).flatMap(dataset.keyPattern.match)
            ?? dataset.keyPattern.match(keys.rest) ?? [:]
        let job = IngestJob(
            dataset: dataset, index: index, keyParts: keyParts, ids: ids, start: start, sourceOffset: ranged ? start.byteOffset : 0,
            options: options)
        let engine = IngestEngine(sink: sink, chunkBytes: settings.chunkBytes, concurrency: settings.bulkConcurrency)
        let margin = settings.common.deadlineMargin
        let run: IngestRunResult
        do {
            run = try await engine.run(job, source: bytes, errors: &errors) { context.remainingTime < margin }
        } catch {
            body?.cancel()
            await errors.abandon()
            throw error
        }
        body?.cancel()
        var total = earlier
        total.add(run)

        // Stopped for the deadline, or the connection to S3 failed mid-file (a reset, a time-out):
        // progress is saved and the redelivered message resumes there. Neither says anything
        // about the file.
        let interruption: String? =
            switch run.ending {
            case .stopped: "the invocation's time ran out at record \(run.next.recordNumber)"
            case .unreadable(let fileError) where Self.isTransient(fileError):
                "reading the file failed at record \(run.next.recordNumber): \(fileError.detail)"
            default: nil
            }
        if let interruption {
            let stopped: Bool = if case .stopped = run.ending { true } else { false }
            _ = try await errors.finish()
            try await saveProgress(fileId: fileId, owner: context.requestId, at: run.next, counts: total)
            do {
                try await status.release(
                    fileId: fileId, stage: .ingest, owner: context.requestId,
                    reason: "\(interruption); the redelivery resumes there",
                    errorCode: stopped ? IngestError.Code.deadlineReached.rawValue : IngestError.Code.storage.rawValue)
            } catch {
                throw IngestError(.statusStore, "\(error)", underlying: error)
            }
            logger.warn(
                stopped ? "deadline near: progress saved, the message will be redelivered to resume"
                    : "reading the file failed: progress saved, the message will be redelivered to resume",
                ["record": .number(run.next.recordNumber), "offset": .number(run.next.byteOffset), "indexed": .number(total.indexed)])
            context.metrics.increment("IngestResumes")
            throw IngestError(
                stopped ? .deadlineReached : .storage,
                "\(keys.incoming): stopped at record \(run.next.recordNumber) (byte \(run.next.byteOffset)); resumes on redelivery")
        }

        // The outcome.
        var final = FileStatus.ingested
        var reason: String?
        var errorCode: String?
        if case .unreadable(let fileError) = run.ending {
            final = .failed
            reason = "the file cannot be read past record \(run.next.recordNumber - 1): \(fileError.detail)"
            errorCode = fileError.code.rawValue
            try await errors.record(
                IngestErrorEntry(
                    record: run.next.recordNumber, offset: fileError.offset ?? run.next.byteOffset, stage: .parse,
                    code: fileError.code.rawValue, reason: fileError.detail))
            total.failed += 1
        } else if total.failed > 0 {
            let ratio = total.records == 0 ? 1 : Double(total.failed) / Double(total.records)
            if ratio > dataset.maxFailedRecordRatio {
                final = .failed
                reason = "\(total.failed) of \(total.records) records failed, more than the dataset allows (\(dataset.maxFailedRecordRatio))"
                errorCode = "TooManyFailedRecords"
            } else {
                final = .partial
                reason = "\(total.failed) of \(total.records) records failed; see \(keys.errors)"
                errorCode = "SomeRecordsFailed"
            }
        } else if total.records == 0 {
            // Done, with nothing lost, but said: an empty file (or one of blank lines) is no silent skip.
            reason = "the file holds no records (\(head.objectSize) bytes); nothing was indexed"
        }
        let wroteErrors = try await errors.finish()
        // A crash between the move and the status write is recovered from the counts: they ride on
        // the filed copy, or, when S3's metadata cannot hold them beside the rest, they are saved
        // in the status row before the move.
        var filedMetadata = moveMetadata.merging(total.metadata) { _, counts in counts }
        if PipelineMetadata.size(head.metadata.merging(filedMetadata) { _, new in new }) > PipelineMetadata.sizeLimit {
            filedMetadata = moveMetadata
            try await saveProgress(fileId: fileId, owner: context.requestId, at: run.next, counts: total)
        }

        let destination = final == .failed ? keys.failed : keys.processed
        let filed = S3ObjectRef(bucket: bucket, key: destination)
        let copy: VerifiedCopy
        do {
            // The version read is the object's own ETag, not the dropbox original's that `etag`
            // (the file's identity) may be: a copy of a multipart upload (`…-N`) gets the MD5 of
            // its bytes (S3 and moto alike).
            copy = try await mover.copyVerified(
                from: source, to: filed, expectedETag: head.etag ?? etag, metadata: filedMetadata, sourceInfo: head)
        } catch {
            throw IngestError(.move, "\(error)", underlying: error)
        }
        let outcome = IngestOutcome(
            fileId: fileId, status: final, reason: reason, errorCode: errorCode, records: total.records, indexed: total.indexed,
            failed: total.failed, skipped: total.skipped, indexNames: total.indexNames, bytes: head.objectSize,
            durationMs: context.clock.now().millisecondsSinceEpoch - started.millisecondsSinceEpoch, destinationKey: destination,
            errorsObjectKey: wroteErrors ? keys.errors : nil)
        if case .copied = copy {
            try await completeDeleting(source, filedAs: filed, outcome, owner: context.requestId)
        } else {
            try await complete(outcome, owner: context.requestId)
        }
        report(outcome, run: run, logger: logger, metrics: context.metrics)
        return outcome
    }

    /// Writes the final status and deletes the filed file's source at the same time (one round
    /// trip instead of two). Either may fail without loss: a status write that fails leaves the
    /// claim to be released and the redelivery recovers the status from the filed copy; a source
    /// left in `in/` beside a final status is removed by the redelivery (a duplicate delivery).
    private func completeDeleting(
        _ source: S3ObjectRef, filedAs destination: S3ObjectRef, _ outcome: IngestOutcome, owner: String
    ) async throws(IngestError) {
        let mover = mover
        async let deletion = { () async -> PipelineCoreError? in
            do throws(PipelineCoreError) {
                try await mover.deleteSource(source, copiedTo: destination)
                return nil
            } catch {
                return error
            }
        }()
        var completion: IngestError?
        do {
            try await complete(outcome, owner: owner)
        } catch {
            completion = error
        }
        let deleteFailure = await deletion
        if let completion { throw completion }
        if let deleteFailure {
            throw IngestError(
                .sourceLeft, "\(outcome.fileId) is filed as \(destination.key) with its final status, but \(deleteFailure)",
                underlying: deleteFailure)
        }
    }

    private func saveProgress(fileId: String, owner: String, at position: ReadPosition, counts: IngestCounts) async throws(IngestError) {
        do {
            try await status.recordProgress(
                fileId: fileId, stage: .ingest, owner: owner, offset: position.byteOffset, recordNumber: position.recordNumber,
                counts: counts.dictionary, indexNames: counts.indexNames)
        } catch {
            throw IngestError(.statusStore, "\(error)", underlying: error)
        }
    }

    private func complete(_ outcome: IngestOutcome, owner: String) async throws(IngestError) {
        do {
            try await status.complete(
                fileId: outcome.fileId, stage: .ingest, owner: owner,
                outcome: StatusOutcome(
                    status: outcome.status, reason: outcome.reason, errorCode: outcome.errorCode, records: outcome.records,
                    indexed: outcome.indexed, failed: outcome.failed, skipped: outcome.skipped, indexNames: outcome.indexNames,
                    bytes: outcome.bytes, durationMs: outcome.durationMs))
        } catch {
            throw IngestError(.statusStore, "\(error)", underlying: error)
        }
    }

    /// The object is gone from `in/` but the file is not final: an earlier attempt moved it and
    /// died before writing its status. Its verified copy says where it went; the saved counts say
    /// the rest.
    private func recoverMovedFile(
        keys: IngestKeys, fileId: String, etag: String?, previous: StatusRecord, started: Timestamp, logger: Logger
    ) async throws(IngestError) -> IngestOutcome {
        let bucket = settings.ingestBucket
        var found: (key: String, info: S3ObjectInfo)?
        do {
            for candidate in [keys.processed, keys.failed] {
                if let info = try await mover.verifiedDestination(
                    S3ObjectRef(bucket: bucket, key: candidate), sourceETag: etag.map(FileId.unquoted), sourceSize: nil)
                {
                    found = (candidate, info)
                    break
                }
            }
        } catch {
            throw IngestError(.storage, "\(error)", underlying: error)
        }
        guard let found else {
            throw IngestError(.storage, "\(keys.incoming) does not exist and no filed copy of it was found")
        }
        // The counts the copy carries; a copy filed without them had them saved in the status row.
        let counts = IngestCounts(filedMetadata: found.info.metadata) ?? IngestCounts(records: previous.records ?? 0, record: previous)
        let status: FileStatus = found.key == keys.failed ? .failed : counts.failed > 0 ? .partial : .ingested
        let outcome = IngestOutcome(
            fileId: fileId, status: status, reason: status == .ingested ? nil : "recovered after an interrupted attempt",
            errorCode: status == .ingested ? nil : "Recovered", records: counts.records, indexed: counts.indexed,
            failed: counts.failed, skipped: counts.skipped, indexNames: counts.indexNames, bytes: found.info.objectSize,
            durationMs: 0, destinationKey: found.key, errorsObjectKey: nil)
        try await complete(outcome, owner: previous.claimOwner ?? "")
        logger.info("file was filed by an interrupted attempt: status recovered", ["status": .string(status.rawValue)])
        return outcome
    }

    private func report(_ outcome: IngestOutcome, run: IngestRunResult, logger: Logger, metrics: MetricsRecorder) {
        var fields: JSONObject = [
            "status": .string(outcome.status.rawValue), "records": .number(outcome.records), "indexed": .number(outcome.indexed),
            "failed": .number(outcome.failed), "bytes": .number(outcome.bytes), "durationMs": .number(outcome.durationMs),
            "indexNames": .array(outcome.indexNames.map(JSON.string)), "bulkRequests": .number(run.requests),
            "itemRetries": .number(run.itemRetries), "requestRetries": .number(run.requestRetries),
        ]
        if let reason = outcome.reason { fields.append("reason", .string(reason)) }
        if let key = outcome.destinationKey { fields.append("filedAs", .string(key)) }
        if outcome.status == .ingested {
            logger.info("file ingested", fields)
        } else {
            logger.warn("file ingested with failures", fields)
        }
        metrics.increment("RecordsIndexed", by: Double(run.indexed))
        metrics.increment("RecordsFailed", by: Double(run.failed))
        metrics.increment("IngestBytes", by: Double(run.bytesRead), unit: .bytes)
        metrics.add("IngestDurationMs", Double(outcome.durationMs), unit: .milliseconds)
        metrics.increment("Files\(outcome.status == .ingested ? "Ingested" : outcome.status == .partial ? "Partial" : "Failed")")
    }
}
