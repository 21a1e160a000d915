import AWSClients
import AWSCore
import HTTPTransport
import JSONCodec
package import PipelineCore
package import Primitives

/// `pipelinectl`: the operator's day-two commands, reading the same environment as the handlers
/// (`INGEST_STATUS_TABLE`, `INGEST_STATUS_FILE_NAME_GSI`, `DROPBOX_BUCKET_NAME`, `DROPBOX_PREFIX`,
/// `INGEST_BUCKET_NAME`, plus `AWS_*` for the region, credentials and endpoints).
package struct PipelineCtl: Sendable {
    package static let usage = """
        usage: pipelinectl status --file NAME
               pipelinectl status --dataset NAME [--since ISO-8601] [--until ISO-8601]
               pipelinectl redrive --queue DEAD_LETTER_QUEUE [--to SOURCE_QUEUE] [--max N]
               pipelinectl resubmit --key KEY

          status    the status items of a file (every stage) or of a dataset's files updated in a period
          redrive   moves the messages of a dead-letter queue back to its source queue (found with
                    ListDeadLetterSourceQueues unless --to names it)
          resubmit  copies a failed file back so the pipeline runs it again: failed/<dataset>/<name> in the
                    ingest bucket → in/<dataset>/<name>; rejected/<name> in the dropbox bucket →
                    <DROPBOX_PREFIX><name>. The stage's final status item is removed first, or the stage
                    would acknowledge the copy as already done.
        """

    let environment: Environment
    let clients: PipelineClients
    let output: @Sendable (String) -> Void
    let clock: any WallClock

    package init(environment: Environment, clients: PipelineClients, clock: any WallClock = SystemClock(), output: @escaping @Sendable (String) -> Void) {
        self.environment = environment
        self.clients = clients
        self.clock = clock
        self.output = output
    }

    /// Clients from the environment, as the handlers build them.
    package static func make(environment: Environment, output: @escaping @Sendable (String) -> Void) async throws(LocalStackError) -> PipelineCtl {
        let transport: CurlTransport
        do {
            transport = try CurlTransport()
        } catch {
            throw LocalStackError(.launch, "libcurl: \(error)")
        }
        do {
            let clients = try await PipelineClients.make(environment: environment, transport: transport)
            return PipelineCtl(environment: environment, clients: clients, output: output)
        } catch {
            throw LocalStackError(.usage, error.description)
        }
    }

    /// Runs one command.
    /// - Throws: `LocalStackError` (`.usage` for bad arguments or settings, `.notFound`, `.aws`).
    package func run(_ arguments: [String]) async throws(LocalStackError) {
        guard let command = arguments.first else { throw LocalStackError(.usage, Self.usage) }
        let options = try Self.options(Array(arguments.dropFirst()))
        switch command {
        case "status":
            if let file = options["--file"] {
                try await status(file: file)
            } else if let dataset = options["--dataset"] {
                try await status(dataset: dataset, since: try time(options["--since"], "--since"), until: try time(options["--until"], "--until"))
            } else {
                throw LocalStackError(.usage, "status needs --file NAME or --dataset NAME")
            }
        case "redrive":
            guard let queue = options["--queue"] else { throw LocalStackError(.usage, "redrive needs --queue DEAD_LETTER_QUEUE") }
            let max = try options["--max"].map { text throws(LocalStackError) -> Int in
                guard let n = Int(text), n > 0 else { throw LocalStackError(.usage, "--max takes a positive whole number") }
                return n
            }
            _ = try await redrive(deadLetterQueue: queue, to: options["--to"], max: max ?? .max)
        case "resubmit":
            guard let key = options["--key"] else { throw LocalStackError(.usage, "resubmit needs --key KEY") }
            _ = try await resubmit(key: key)
        default:
            throw LocalStackError(.usage, "unknown command \(command)\n\(Self.usage)")
        }
    }

    static func options(_ list: [String]) throws(LocalStackError) -> [String: String] {
        var options: [String: String] = [:]
        var rest = list[...]
        while let flag = rest.popFirst() {
            guard flag.hasPrefix("--"), let value = rest.popFirst() else { throw LocalStackError(.usage, "\(flag) needs a value\n\(usage)") }
            options[flag] = value
        }
        return options
    }

    private func time(_ text: String?, _ flag: String) throws(LocalStackError) -> Timestamp? {
        guard let text else { return nil }
        guard let value = Timestamp(iso8601: text) ?? Timestamp(isoDate: text) else {
            throw LocalStackError(.usage, "\(flag) takes an ISO-8601 time such as 2024-05-01T00:00:00Z, not '\(text)'")
        }
        return value
    }

    private func setting(_ name: String) throws(LocalStackError) -> String {
        guard let value = environment[name], !value.isEmpty else {
            throw LocalStackError(.usage, "\(name) is not set (pipelinectl reads the handlers' environment)")
        }
        return value
    }

    private func store() throws(LocalStackError) -> StatusStore {
        StatusStore(
            dynamoDB: clients.dynamoDB, table: try setting("INGEST_STATUS_TABLE"),
            fileNameIndex: environment["INGEST_STATUS_FILE_NAME_GSI"] ?? StatusStore.defaultFileNameIndex, clock: clock)
    }

    // MARK: status

    /// Prints every stage's item for `file` (its name relative to the dataset's folder).
    @discardableResult
    package func status(file: String) async throws(LocalStackError) -> [StatusRecord] {
        let records: [StatusRecord]
        do {
            records = try await store().history(fileName: file)
        } catch let error as LocalStackError {
            throw error
        } catch {
            throw LocalStackError(.aws, "reading the status of \(file): \(error)")
        }
        guard !records.isEmpty else { throw LocalStackError(.notFound, "no status item for a file named \(file)") }
        for record in records { output(Self.line(record)) }
        return records
    }

    /// Prints a dataset's items updated in `[since, until]` (default: the last 24 hours).
    @discardableResult
    package func status(dataset: String, since: Timestamp?, until: Timestamp?) async throws(LocalStackError) -> [StatusRecord] {
        let to = until ?? clock.now()
        let from = since ?? to.adding(seconds: -86_400)
        let records: [StatusRecord]
        do {
            records = try await store().updates(dataset: dataset, from: from, to: to)
        } catch let error as LocalStackError {
            throw error
        } catch {
            throw LocalStackError(.aws, "reading the status of dataset \(dataset): \(error)")
        }
        var counts: [String: Int] = [:]
        for record in records {
            output(Self.line(record))
            counts["\(record.stage.rawValue) \(record.rawStatus ?? "?")", default: 0] += 1
        }
        output(
            "\(records.count) item(s) of \(dataset) updated \(from.iso8601()) … \(to.iso8601())"
                + (counts.isEmpty ? "" : ": " + counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        return records
    }

    static func line(_ record: StatusRecord) -> String {
        var parts = [
            record.updatedAt ?? "-", record.stage.rawValue, record.rawStatus ?? "?", record.fileName ?? record.fileId, "attempt \(record.attempt)",
        ]
        if let records = record.records { parts.append("records \(records)") }
        if let indexed = record.indexed { parts.append("indexed \(indexed)") }
        if let failed = record.failed, failed > 0 { parts.append("failed \(failed)") }
        if let code = record.errorCode { parts.append(code) }
        if let reason = record.reason { parts.append("— \(reason)") }
        return parts.joined(separator: "  ")
    }

    // MARK: redrive

    /// Moves every message of `deadLetterQueue` (a name or URL) back to its source queue, keeping
    /// bodies and attributes; a message is deleted from the dead-letter queue only once sent.
    /// Returns the number moved.
    @discardableResult
    package func redrive(deadLetterQueue: String, to source: String?, max: Int = .max) async throws(LocalStackError) -> Int {
        let sqs = clients.sqs
        let dlqURL = try await queueURL(deadLetterQueue)
        let sourceURL: String
        if let source {
            sourceURL = try await queueURL(source)
        } else {
            let sources: [String]
            do {
                let answer = try await sqs.call("ListDeadLetterSourceQueues", ["QueueUrl": .string(dlqURL)])
                sources = (answer["queueUrls"]?.arrayValue ?? []).compactMap(\.stringValue)
            } catch {
                throw LocalStackError(.aws, "ListDeadLetterSourceQueues for \(deadLetterQueue): \(error)")
            }
            guard sources.count == 1 else {
                throw LocalStackError(
                    .usage, "\(deadLetterQueue) is the dead-letter queue of \(sources.count) queues: name the source with --to")
            }
            sourceURL = sources[0]
        }
        var moved = 0
        while moved < max {
            let messages: [SQSMessage]
            do {
                messages = try await sqs.receiveMessages(
                    queueURL: dlqURL, maxMessages: min(10, max - moved), waitTimeSeconds: 1, visibilityTimeout: 60,
                    messageAttributeNames: ["All"])
            } catch {
                throw LocalStackError(.aws, "receiving from \(deadLetterQueue): \(error)")
            }
            if messages.isEmpty { break }
            do {
                let sent = try await sqs.sendMessageBatch(
                    queueURL: sourceURL,
                    entries: messages.enumerated().map { SQSSendEntry(id: "m\($0.offset)", body: $0.element.body, attributes: $0.element.messageAttributes) })
                let sentIds = Set(sent.successful.map(\.id))
                let done = messages.enumerated().filter { sentIds.contains("m\($0.offset)") }
                if !done.isEmpty {
                    _ = try await sqs.deleteMessageBatch(
                        queueURL: dlqURL, entries: done.map { (id: "m\($0.offset)", receiptHandle: $0.element.receiptHandle) })
                }
                moved += done.count
                if !sent.failed.isEmpty {
                    throw LocalStackError(.aws, "\(sent.failed.count) message(s) could not be sent back: \(sent.failed.map(\.message).joined(separator: "; "))")
                }
            } catch let error as LocalStackError {
                throw error
            } catch {
                throw LocalStackError(.aws, "moving messages back: \(error)")
            }
        }
        output("moved \(moved) message(s) from \(deadLetterQueue) back to \(sourceURL)")
        return moved
    }

    private func queueURL(_ nameOrURL: String) async throws(LocalStackError) -> String {
        if nameOrURL.hasPrefix("http://") || nameOrURL.hasPrefix("https://") { return nameOrURL }
        do {
            return try await clients.sqs.getQueueURL(name: nameOrURL)
        } catch {
            if error.isSQSQueueDoesNotExist { throw LocalStackError(.notFound, "no queue named \(nameOrURL)") }
            throw LocalStackError(.aws, "GetQueueUrl \(nameOrURL): \(error)")
        }
    }

    // MARK: resubmit

    /// Copies a failed or rejected file back to where its stage picks it up, after removing the
    /// stage's final status item for it. Returns the new key (`bucket/key`).
    @discardableResult
    package func resubmit(key: String) async throws(LocalStackError) -> String {
        let ingestBucket = try setting("INGEST_BUCKET_NAME")
        let source: S3ObjectRef
        let destination: S3ObjectRef
        let stage: PipelineStage
        let fileName: String
        if key.hasPrefix("failed/") {
            let rest = key.dropFirst("failed/".count)
            guard let slash = rest.firstIndex(of: "/"), !rest[rest.index(after: slash)...].isEmpty, !key.hasSuffix(".errors.jsonl") else {
                throw LocalStackError(.usage, "\(key) is not a failed file (failed/<dataset>/<name>, not its .errors.jsonl)")
            }
            source = S3ObjectRef(bucket: ingestBucket, key: key)
            destination = S3ObjectRef(bucket: ingestBucket, key: "in/" + rest)
            stage = .ingest
            fileName = String(rest[rest.index(after: slash)...])
        } else if key.hasPrefix("rejected/") {
            let name = String(key.dropFirst("rejected/".count))
            guard !name.isEmpty, !name.hasSuffix(".error.json") else {
                throw LocalStackError(.usage, "\(key) is not a rejected file (rejected/<name>, not its .error.json)")
            }
            let dropbox = try setting("DROPBOX_BUCKET_NAME")
            source = S3ObjectRef(bucket: dropbox, key: key)
            destination = S3ObjectRef(bucket: dropbox, key: (environment["DROPBOX_PREFIX"] ?? "received_files/") + name)
            stage = .dropbox
            fileName = name
        } else {
            throw LocalStackError(.usage, "resubmit takes a key under failed/ (ingest bucket) or rejected/ (dropbox bucket), not \(key)")
        }
        let info: S3ObjectInfo
        do {
            info = try await clients.s3.headObject(bucket: source.bucket, key: source.key)
        } catch {
            if error.isS3NotFound { throw LocalStackError(.notFound, "no object s3://\(source.bucket)/\(source.key)") }
            throw LocalStackError(.aws, "HeadObject \(source.key): \(error)")
        }
        // The copy keeps the content (so the ETag, so the file id): forget the stage's final state.
        let etag = FileId.unquoted(info.etag ?? "")
        let store = try store()
        do {
            for record in try await store.history(fileName: fileName)
            where record.stage == stage && (record.status?.isFinal ?? false) && (record.etag.map(FileId.unquoted) ?? etag) == etag {
                _ = try await clients.dynamoDB.deleteItem(
                    DeleteItemRequest(
                        tableName: store.table, key: [StatusAttribute.fileId: .s(record.fileId), StatusAttribute.stage: .s(stage.rawValue)]))
                output("removed the \(stage.rawValue) status \(record.rawStatus ?? "?") of \(record.fileId)")
            }
            _ = try await clients.s3.copyObject(from: source, to: destination)
        } catch let error as LocalStackError {
            throw error
        } catch {
            throw LocalStackError(.aws, "resubmitting \(key): \(error)")
        }
        output("copied s3://\(source.bucket)/\(source.key) to s3://\(destination.bucket)/\(destination.key)")
        return "\(destination.bucket)/\(destination.key)"
    }
}
