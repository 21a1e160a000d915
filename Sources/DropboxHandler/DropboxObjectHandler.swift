package import AWSClients
import AWSCore
import HTTPTransport
import JSONCodec
package import LambdaRuntime
package import PipelineCore
package import PipelineSettings
package import Primitives

/// What the dropbox did with one S3 event record (for logs, metrics and tests).
package enum DropboxOutcome: Sendable, Hashable {
    case accepted(destination: S3ObjectRef)
    case rejected(Rejection, destination: S3ObjectRef)
    /// A duplicate event for a file this stage already finished.
    case alreadyDone(FileStatus?)
    /// Another live invocation is handling the file (its claim running out at `until`, when
    /// known): the SQS record fails, to come back after its claim.
    case heldByOther(until: Timestamp?)
    /// The same file twice in one batch: this invocation handles it under the other record.
    case heldByThisInvocation
    /// An event from another bucket, or outside the incoming prefix, or a folder marker.
    case ignored(String)
    /// The file was gone and no finished move explains it.
    case vanished
    /// The object was overwritten after the event: its new version has its own event.
    case superseded
}

/// The dropbox's business logic for one `ObjectCreated` event: check the file, then move it to
/// the ingest bucket (accepted) or to `rejected/` with a `.error.json` beside it (rejected),
/// recording the outcome in the status table under an idempotent claim.
package struct DropboxObjectHandler: S3ObjectHandler {
    package let settings: DropboxSettings
    package let catalog: DatasetCatalog
    package let s3: S3Client
    package let status: StatusStore
    package let mover: FileMover
    package let checker: FileChecker

    /// The dataset name recorded for files that match no dataset.
    package static let unmatchedDataset = "_unmatched"

    package init(settings: DropboxSettings, catalog: DatasetCatalog, s3: S3Client, status: StatusStore, checker: FileChecker = FileChecker()) {
        self.settings = settings
        self.catalog = catalog
        self.s3 = s3
        self.status = status
        self.mover = FileMover(s3: s3, multipartThreshold: settings.multipartCopyThresholdBytes, partSize: settings.multipartCopyPartBytes)
        self.checker = checker
    }

    package func handle(_ object: S3EventRecord, message: SQSRecord, context: LambdaContext) async throws {
        if case .heldByOther(let until) = try await process(object, context: context) {
            throw PipelineCoreError.claimHeld(key: object.key, until: until, now: context.clock.now())
        }
    }

    /// Handles one record and says what came of it.
    /// - Throws: only for failures worth a retry (S3 or DynamoDB unavailable…): the SQS message
    ///   is then redelivered. The claim is released first so the retry can start at once.
    package func process(_ object: S3EventRecord, context: LambdaContext) async throws -> DropboxOutcome {
        var log = context.logger.with("stage", .string(PipelineStage.dropbox.rawValue)).with("file", .string(object.key))
        guard object.bucketName == settings.dropboxBucket else {
            log.warn(
                "event from a bucket that is not the dropbox: ignored",
                ["bucket": .string(object.bucketName), "code": .string(ForeignBucket.code)])
            context.metrics.increment(ForeignBucket.metric)
            return .ignored("bucket \(object.bucketName) is not the dropbox bucket")
        }
        guard object.key.hasPrefix(settings.incomingPrefix), object.key.utf8.count > settings.incomingPrefix.utf8.count else {
            log.warn("event outside the incoming prefix: ignored", ["prefix": .string(settings.incomingPrefix)])
            context.metrics.increment("OutsidePrefixEvents")
            return .ignored("key outside \(settings.incomingPrefix)")
        }
        let name = String(object.key.dropFirst(settings.incomingPrefix.count))
        if name.hasSuffix("/"), (object.size ?? 0) == 0 {
            log.info("folder marker ignored")
            return .ignored("folder marker")
        }
        let source = S3ObjectRef(bucket: object.bucketName, key: object.key)
        let match = catalog.match(key: name)
        let datasetName = match?.dataset.name ?? Self.unmatchedDataset
        log = log.with("dataset", .string(datasetName))

        // The version the event is about: its ETag, or (an event without one) the object's now.
        var head: S3ObjectInfo?
        var etag = object.eTag.map(FileId.unquoted)
        if etag == nil || etag!.isEmpty {
            head = try await headSource(source)
            etag = head.map { FileId.unquoted($0.etag ?? "") }
        }
        let versionId = object.versionId
        let fileId = FileId.make(dataset: datasetName, relativePath: name, etag: etag, versionId: versionId)
        log = log.with("fileId", .string(fileId))
        let tracked = TrackedFile(
            dataset: datasetName, fileName: name, bucket: source.bucket, key: source.key, size: object.size ?? head?.objectSize,
            etag: etag, versionId: versionId)
        let owner = context.requestId
        let waitLimit = context.deadline.adding(milliseconds: -settings.common.deadlineMargin.milliseconds)
        switch try await status.claim(
            fileId: fileId, stage: .dropbox, file: tracked, owner: owner, deadline: context.deadline, waitingUntil: waitLimit)
        {
        case .alreadyDone(let record):
            log.info(
                "duplicate event: the file was already handled",
                ["status": record.rawStatus.map(JSON.string) ?? .null, "reason": record.reason.map(JSON.string) ?? .null])
            context.metrics.increment("DuplicateEvents")
            return .alreadyDone(record.status)
        case .heldByOther(let holder, _, _) where holder == owner:
            // The same file twice in this batch, its records handled concurrently: the other finishes it.
            log.info("duplicate event in the same batch: the file is being handled by this invocation")
            context.metrics.increment("DuplicateEvents")
            return .heldByThisInvocation
        case .heldByOther(let holder, let until, _):
            log.info(
                "another invocation is handling the file: the message is retried after its claim",
                ["claimOwner": holder.map(JSON.string) ?? .null, "claimExpiresAt": until.map { .string($0.iso8601()) } ?? .null])
            context.metrics.increment("ClaimsHeldByOther")
            return .heldByOther(until: until)
        case .claimed(let record):
            if record.attempt > 1 { log = log.with("attempt", .number(record.attempt)) }
        }

        let started = ContinuousClock.now
        do {
            let outcome = try await work(
                source: source, name: name, match: match, fileId: fileId, etag: etag, head: head, eventSize: object.size, owner: owner,
                log: log, context: context, started: started)
            return outcome
        } catch let error as PipelineCoreError where error.code == .claimLost {
            log.warn("the claim was taken over while working: the other invocation finishes the file", ["reason": .string(error.message)])
            context.metrics.increment("ClaimsLost")
            return .heldByOther(until: nil)
        } catch {
            let code = (error as? PipelineCoreError)?.code.rawValue ?? "Unexpected"
            log.error("handling failed: the message will be retried", ["errorCode": .string(code), "error": .string("\(error)")])
            do {
                try await status.release(
                    fileId: fileId, stage: .dropbox, owner: owner, reason: "a temporary failure; the file will be tried again", errorCode: code)
            } catch {
                log.warn("could not release the claim (it expires with this invocation)", ["error": .string("\(error)")])
            }
            throw error
        }
    }

    private func headSource(_ source: S3ObjectRef) async throws(PipelineCoreError) -> S3ObjectInfo? {
        do {
            return try await s3.headObject(bucket: source.bucket, key: source.key)
        } catch {
            if error.isS3NotFound { return nil }
            throw PipelineCoreError(.s3, "HeadObject \(source) failed", aws: error)
        }
    }

    /// One ranged GET of the first `length` bytes (at least 1): the object's headers, made to read
    /// as HeadObject's (the whole object's length), and the bytes. `nil` when the object is gone.
    private func readStart(_ source: S3ObjectRef, length: Int) async throws(PipelineCoreError) -> (info: S3ObjectInfo, bytes: [UInt8])? {
        let count = max(length, 1)
        let output: S3GetObjectOutput
        do {
            output = try await s3.getObject(bucket: source.bucket, key: source.key, range: 0...Int64(count - 1))
        } catch {
            if error.isS3NotFound { return nil }
            // An unsatisfiable range: the object was emptied since the event; HeadObject tells.
            if error.s3Code == .invalidRange { return try await headSource(source).map { ($0, []) } }
            throw PipelineCoreError(.s3, "reading the start of \(source) failed", aws: error)
        }
        var info = output.info
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(clamping: min(info.contentLength, Int64(count))))
        var tooLong = false
        do throws(HTTPError) {
            while let chunk = try await output.body.next() {
                guard bytes.count + chunk.count <= count else {
                    tooLong = true
                    output.body.cancel()
                    break
                }
                bytes.append(contentsOf: chunk)
            }
        } catch {
            throw PipelineCoreError(.s3, "reading the start of \(source) failed", aws: AWSError.transport(error))
        }
        if tooLong { throw PipelineCoreError(.s3, "reading the start of \(source): S3 sent more than the \(count) bytes asked for") }
        info.contentLength = info.objectSize
        info.contentRange = nil
        return (info, bytes)
    }

    private func acceptedDestination(_ dataset: String, _ name: String) -> S3ObjectRef {
        S3ObjectRef(bucket: settings.ingestBucket, key: "\(settings.acceptedPrefix)\(dataset)/\(name)")
    }

    private func rejectedDestination(_ name: String) -> S3ObjectRef {
        S3ObjectRef(bucket: settings.dropboxBucket, key: "\(settings.rejectedPrefix)\(name)")
    }

    private func work(
        source: S3ObjectRef, name: String, match: (dataset: DatasetDefinition, parts: [String: String])?, fileId: String,
        etag: String?, head knownHead: S3ObjectInfo?, eventSize: Int64?, owner: String, log: Logger, context: LambdaContext,
        started: ContinuousClock.Instant
    ) async throws -> DropboxOutcome {
        var head = knownHead
        // A file the name checks let through is read anyway: one ranged GET answers with the
        // object's headers (ETag, size, metadata) and its first bytes, in place of HeadObject + GET.
        // A file larger than its sample is read in two steps: `firstReadBytes`, then the rest of
        // the sample only when those bytes do not hold the sample records.
        var start: (bytes: [UInt8], length: Int)?
        if head == nil, let dataset = match?.dataset, let eventSize, checker.checkName(name, size: eventSize, dataset: dataset) == nil {
            let (sampleLength, whole) = checker.readLength(size: eventSize, dataset: dataset, sampleBytes: settings.sampleBytes)
            let length = whole ? sampleLength : min(sampleLength, checker.firstReadBytes)
            guard let read = try await readStart(source, length: length) else {
                return try await recoverOrVanished(source: source, name: name, match: match, fileId: fileId, etag: etag, owner: owner, log: log, context: context)
            }
            head = read.info
            start = (read.bytes, length)
        }
        if head == nil { head = try await headSource(source) }
        guard let head else {
            return try await recoverOrVanished(source: source, name: name, match: match, fileId: fileId, etag: etag, owner: owner, log: log, context: context)
        }
        let currentETag = FileId.unquoted(head.etag ?? "")
        if let etag, !etag.isEmpty, currentETag != etag {
            try await status.complete(
                fileId: fileId, stage: .dropbox, owner: owner,
                outcome: StatusOutcome(
                    status: .skipped, reason: "The file was replaced by a newer upload before it was checked; the newer one is handled on its own.",
                    errorCode: "Superseded"))
            log.info("the object was overwritten after this event: left to the newer event", ["status": .string("SKIPPED")])
            context.metrics.increment("SupersededEvents")
            return .superseded
        }
        let metadata = PipelineMetadata.make(
            fileId: fileId, dataset: match?.dataset.name ?? Self.unmatchedDataset, sourceKey: source.key, sourceETag: currentETag)

        // The checks.
        var rejection: Rejection?
        if let dataset = match?.dataset {
            rejection = checker.checkName(name, size: head.objectSize, dataset: dataset)
            if rejection == nil {
                let (length, whole) = checker.readLength(size: head.objectSize, dataset: dataset, sampleBytes: settings.sampleBytes)
                var sample: [UInt8] = []
                var verdict: FileChecker.Verdict = .needsMoreBytes
                if let start, start.length < length, !whole {
                    verdict = await checker.verdict(name: name, start: start.bytes, dataset: dataset)
                }
                if case .decided(let found) = verdict {
                    rejection = found
                } else if let start, start.length == length {
                    sample = start.bytes
                } else {
                    do {
                        sample = try await s3.readBytes(
                            bucket: source.bucket, key: source.key, range: 0...Int64(max(length, 1) - 1), maxBytes: max(length, 1))
                    } catch {
                        if error.isS3NotFound {
                            return try await recoverOrVanished(
                                source: source, name: name, match: match, fileId: fileId, etag: etag, owner: owner, log: log, context: context)
                        }
                        throw PipelineCoreError(.s3, "reading the start of \(source) failed", aws: error)
                    }
                }
                if case .needsMoreBytes = verdict {
                    rejection = await checker.checkContent(name: name, sample: sample, wholeFile: whole, dataset: dataset)
                }
            }
        } else {
            let patterns = catalog.datasets.map { "\($0.name): \(settings.incomingPrefix)\($0.keyPattern.source)" }
            rejection = Rejection(
                .unknownDataset,
                "The file's name and folder match no dataset the pipeline knows. Check the folder and the naming convention.",
                details: Array(patterns.prefix(20)))
        }

        let durationMs = { () -> Int64 in
            let elapsed = started.duration(to: .now).components
            return elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000
        }
        if let rejection {
            let destination = rejectedDestination(name)
            try await writeErrorDocument(rejection, file: source.key, dataset: match?.dataset.name, name: name, context: context)
            let moved = try await moveOrRecover(source, to: destination, etag: currentETag, metadata: metadata, head: head)
            guard moved else {
                return try await recoverOrVanished(source: source, name: name, match: match, fileId: fileId, etag: etag, owner: owner, log: log, context: context)
            }
            try await status.complete(
                fileId: fileId, stage: .dropbox, owner: owner,
                outcome: StatusOutcome(
                    status: .rejected, reason: rejection.reason, errorCode: rejection.code.rawValue, bytes: head.objectSize,
                    durationMs: durationMs()))
            log.warn(
                "file rejected",
                [
                    "status": .string("REJECTED"), "reason": .string(rejection.reason), "code": .string(rejection.code.rawValue),
                    "destination": .string(destination.key),
                ])
            context.metrics.increment("Rejected")
            context.metrics.increment("Rejected\(rejection.code.rawValue)")
            return .rejected(rejection, destination: destination)
        }

        let dataset = match!.dataset.name
        let destination = acceptedDestination(dataset, name)
        let moved = try await moveOrRecover(source, to: destination, etag: currentETag, metadata: metadata, head: head)
        guard moved else {
            return try await recoverOrVanished(source: source, name: name, match: match, fileId: fileId, etag: etag, owner: owner, log: log, context: context)
        }
        try await status.complete(
            fileId: fileId, stage: .dropbox, owner: owner,
            outcome: StatusOutcome(status: .accepted, bytes: head.objectSize, durationMs: durationMs()))
        log.info(
            "file accepted", ["status": .string("ACCEPTED"), "destination": .string("s3://\(destination.bucket)/\(destination.key)")])
        context.metrics.increment("Accepted")
        context.metrics.increment("AcceptedBytes", by: Double(head.objectSize), unit: .bytes)
        return .accepted(destination: destination)
    }

    /// Moves the file; `false` when the source disappeared with no verified copy (left to the caller).
    private func moveOrRecover(
        _ source: S3ObjectRef, to destination: S3ObjectRef, etag: String, metadata: [String: String], head: S3ObjectInfo
    ) async throws(PipelineCoreError) -> Bool {
        do {
            _ = try await mover.move(from: source, to: destination, expectedETag: etag, metadata: metadata, sourceInfo: head)
            return true
        } catch {
            if error.code == .sourceMissing || (error.code == .copyFailed && error.aws?.isS3NotFound == true) { return false }
            throw error
        }
    }

    private func writeErrorDocument(
        _ rejection: Rejection, file: String, dataset: String?, name: String, context: LambdaContext
    ) async throws(PipelineCoreError) {
        let key = "\(settings.rejectedPrefix)\(name).error.json"
        let body = rejection.document(file: file, dataset: dataset, rejectedAt: context.clock.now())
        do {
            _ = try await s3.putObject(bucket: settings.dropboxBucket, key: key, body: body, contentType: "application/json")
        } catch {
            throw PipelineCoreError(.s3, "writing s3://\(settings.dropboxBucket)/\(key) failed", aws: error)
        }
    }

    /// The source is gone. A verified copy in the ingest bucket or in `rejected/` means an earlier
    /// attempt moved it and died before writing its status: finish that status. Otherwise the file
    /// vanished before it could be checked.
    private func recoverOrVanished(
        source: S3ObjectRef, name: String, match: (dataset: DatasetDefinition, parts: [String: String])?, fileId: String,
        etag: String?, owner: String, log: Logger, context: LambdaContext
    ) async throws -> DropboxOutcome {
        if let dataset = match?.dataset.name {
            let destination = acceptedDestination(dataset, name)
            if let copy = try await mover.verifiedDestination(destination, sourceETag: etag, sourceSize: nil) {
                try await status.complete(
                    fileId: fileId, stage: .dropbox, owner: owner, outcome: StatusOutcome(status: .accepted, bytes: copy.objectSize))
                log.info("an earlier attempt had moved the file: status completed", ["status": .string("ACCEPTED")])
                context.metrics.increment("Accepted")
                return .accepted(destination: destination)
            }
        }
        // The copy may have moved on already: the ingest stage, which keeps the file's id, has an
        // item for it once it picked the accepted file up.
        if let dataset = match?.dataset.name, let ingest = try await status.get(fileId: fileId, stage: .ingest) {
            try await status.complete(
                fileId: fileId, stage: .dropbox, owner: owner, outcome: StatusOutcome(status: .accepted, bytes: ingest.size))
            log.info("an earlier attempt had moved the file, since taken on by ingest: status completed", ["status": .string("ACCEPTED")])
            context.metrics.increment("Accepted")
            return .accepted(destination: acceptedDestination(dataset, name))
        }
        let rejected = rejectedDestination(name)
        if let copy = try await mover.verifiedDestination(rejected, sourceETag: etag, sourceSize: nil) {
            let rejection = await earlierRejection(name) ?? Rejection(.unreadableSample, "The file was rejected (see its .error.json).")
            try await status.complete(
                fileId: fileId, stage: .dropbox, owner: owner,
                outcome: StatusOutcome(status: .rejected, reason: rejection.reason, errorCode: rejection.code.rawValue, bytes: copy.objectSize))
            log.info("an earlier attempt had rejected the file: status completed", ["status": .string("REJECTED")])
            context.metrics.increment("Rejected")
            return .rejected(rejection, destination: rejected)
        }
        try await status.complete(
            fileId: fileId, stage: .dropbox, owner: owner,
            outcome: StatusOutcome(
                status: .skipped, reason: "The file was removed from the dropbox before it could be checked.", errorCode: "Vanished"))
        log.warn("the file vanished before it was handled", ["status": .string("SKIPPED")])
        context.metrics.increment("VanishedFiles")
        return .vanished
    }

    /// The rejection written by an earlier attempt, read back from its `.error.json`.
    private func earlierRejection(_ name: String) async -> Rejection? {
        guard
            let bytes = try? await s3.readBytes(
                bucket: settings.dropboxBucket, key: "\(settings.rejectedPrefix)\(name).error.json", range: 0...((1 << 20) - 1)),
            let document = try? JSONParser.parse(bytes), let code = document["code"]?.stringValue.flatMap(Rejection.Code.init(rawValue:)),
            let reason = document["reason"]?.stringValue
        else { return nil }
        return Rejection(code, reason, details: (document["details"]?.arrayValue ?? []).compactMap(\.stringValue))
    }
}
