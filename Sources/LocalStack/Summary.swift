package import AWSClients
import HTTPTransport
package import AWSCore
package import JSONCodec
package import PipelineCore
import Primitives

/// What the stack holds after a run, read back from moto and OpenSearch.
package struct Inventory: Sendable {
    /// Status items of every dataset, all stages.
    package var statuses: [StatusRecord] = []
    /// Documents per expected index, and in all indices.
    package var documents: [String: Int] = [:]
    package var totalDocuments = 0
    /// Errors objects (`failed/…errors.jsonl`) and their line counts.
    package var errorObjects: [String: Int] = [:]
    /// Rejected files: `rejected/<name>` keys, and the parsed `.error.json` beside each.
    package var rejectedKeys: Set<String> = []
    package var rejectionDocuments: [String: JSON] = [:]
    /// Parquet objects and their row counts, by key.
    package var parquet: [String: Int64] = [:]
    /// Visible + in-flight messages of each queue, by name.
    package var queueDepths: [String: Int] = [:]
    /// Objects still waiting under the trigger prefixes.
    package var leftInDropbox: [String] = []
    package var leftInIngest: [String] = []

    /// Rows per table: the sum over its Parquet objects.
    package var tableRows: [String: Int64] {
        var rows: [String: Int64] = [:]
        for (key, count) in parquet {
            guard let slash = key.firstIndex(of: "/") else { continue }
            rows[String(key[..<slash]), default: 0] += count
        }
        return rows
    }

    /// Items per stage and status.
    package var statusCounts: [String: [String: Int]] {
        var counts: [String: [String: Int]] = [:]
        for record in statuses { counts[record.stage.rawValue, default: [:]][record.rawStatus ?? "?", default: 0] += 1 }
        return counts
    }

    /// The item of `stage` for a file; every stage names a file as the dropbox received it.
    package func status(stage: PipelineStage, fileName: String) -> StatusRecord? {
        statuses.last { record in
            guard record.stage == stage, let name = record.fileName else { return false }
            return name == fileName
        }
    }
}

/// Reads the inventory.
package struct InventoryReader: Sendable {
    package let layout: StackLayout
    package let clients: PipelineClients
    package let openSearch: OpenSearchClient?
    package let queues: QueueSet

    package init(layout: StackLayout, clients: PipelineClients, openSearch: OpenSearchClient?, queues: QueueSet) {
        self.layout = layout
        self.clients = clients
        self.openSearch = openSearch
        self.queues = queues
    }

    package func read(expectedIndices: [String]) async throws(LocalStackError) -> Inventory {
        var inventory = Inventory()
        let store = StatusStore(
            dynamoDB: clients.dynamoDB, table: layout.statusTable, fileNameIndex: layout.fileNameIndex,
            datasetTimeIndex: layout.datasetTimeIndex)
        for dataset in SampleData.datasetNames + [SampleData.unmatchedDataset] {
            do {
                inventory.statuses += try await store.updates(
                    dataset: dataset, from: Timestamp(secondsSinceEpoch: 0), to: Timestamp(secondsSinceEpoch: 4_102_444_800))
            } catch {
                throw LocalStackError(.aws, "reading the status table: \(error)")
            }
        }
        if let openSearch {
            do {
                for index in expectedIndices where try await openSearch.indexExists(index) { try await openSearch.refresh(index) }
                for index in expectedIndices {
                    inventory.documents[index] = try await openSearch.indexExists(index) ? try await openSearch.count(index) : 0
                }
                // Every index (the client's `count` takes one concrete index name).
                let response = try await openSearch.aws.send(AWSRequest(method: "GET", path: "/_count"))
                inventory.totalDocuments = (try? JSONParser.parse(response.body))?["count"]?.intValue ?? -1
            } catch {
                throw LocalStackError(.aws, "counting OpenSearch documents: \(error)")
            }
        }
        let s3 = clients.s3
        do {
            for object in try await s3.listAllObjects(bucket: layout.ingestBucket, prefix: "failed/").allObjects()
            where object.key.hasSuffix(".errors.jsonl") {
                let bytes = try await s3.readBytes(bucket: layout.ingestBucket, key: object.key, range: 0...max(0, object.size - 1))
                inventory.errorObjects[object.key] = bytes.split(separator: 0x0A).filter { !$0.isEmpty }.count
            }
            for object in try await s3.listAllObjects(bucket: layout.dropboxBucket, prefix: "rejected/").allObjects() {
                if object.key.hasSuffix(".error.json") {
                    let bytes = try await s3.readBytes(bucket: layout.dropboxBucket, key: object.key, range: 0...max(0, object.size - 1))
                    let name = String(object.key.dropFirst("rejected/".count).dropLast(".error.json".count))
                    inventory.rejectionDocuments[name] = (try? JSONParser.parse(bytes)) ?? .null
                } else {
                    inventory.rejectedKeys.insert(String(object.key.dropFirst("rejected/".count)))
                }
            }
            for object in try await s3.listAllObjects(bucket: layout.processedBucket).allObjects() where object.key.hasSuffix(".parquet") {
                inventory.parquet[object.key] = try await Self.parquetRows(s3, bucket: layout.processedBucket, object: object)
            }
            inventory.leftInDropbox = try await s3.listAllObjects(bucket: layout.dropboxBucket, prefix: layout.dropboxPrefix).allObjects().map(\.key)
            inventory.leftInIngest = try await s3.listAllObjects(bucket: layout.ingestBucket, prefix: layout.ingestPrefix).allObjects().map(\.key)
            for function in layout.functions {
                for (name, url) in [
                    (layout.queueName(function), queues.url[function]), (layout.deadLetterQueueName(function), queues.deadLetterURL[function]),
                ] {
                    guard let url else { continue }
                    inventory.queueDepths[name] = try await Self.depth(clients.sqs, url)
                }
            }
        } catch let error as LocalStackError {
            throw error
        } catch {
            throw LocalStackError(.aws, "reading the buckets and queues: \(error)")
        }
        return inventory
    }

    /// Visible plus in-flight (and delayed) messages.
    package static func depth(_ sqs: SQSClient, _ url: String) async throws(AWSError) -> Int {
        let attributes = try await sqs.getQueueAttributes(
            queueURL: url,
            names: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"])
        return ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]
            .reduce(0) { $0 + (attributes[$1].flatMap { Int($0) } ?? 0) }
    }

    static func parquetRows(_ s3: S3Client, bucket: String, object: S3ObjectSummary) async throws -> Int64 {
        guard object.size >= 12 else { throw LocalStackError(.parquet, "\(object.key) is too short for Parquet (\(object.size) bytes)") }
        let tail = try await s3.readBytes(bucket: bucket, key: object.key, range: (object.size - 8)...(object.size - 1))
        let length = try ParquetFooter.footerLength(tail: tail)
        guard Int64(length) + 12 <= object.size else { throw LocalStackError(.parquet, "\(object.key): footer length \(length) is past the file") }
        let start = object.size - 8 - Int64(length)
        let footer = try await s3.readBytes(bucket: bucket, key: object.key, range: start...(object.size - 9))
        do {
            return try ParquetFooter.numRows(footer: footer)
        } catch {
            throw LocalStackError(.parquet, "\(object.key): \(error.message)")
        }
    }
}

/// The comparison of the inventory with the generated data: every file accounted for.
package struct Accounting: Sendable {
    package var problems: [String] = []
    package var checks = 0

    /// - Parameter stages: the stages that ran (a stage without its bootstrap is not checked).
    package init(sample: SampleData, inventory: Inventory, stages: Set<FunctionKind>, expectedTables: [String: Int]) {
        func check(_ ok: Bool, _ problem: @autoclosure () -> String) {
            checks += 1
            if !ok { problems.append(problem()) }
        }
        guard stages.contains(.dropbox) else {
            problems.append("the dropbox stage did not run: nothing can be accounted for")
            return
        }
        check(inventory.leftInDropbox.isEmpty, "files still waiting in the dropbox: \(inventory.leftInDropbox.prefix(5).joined(separator: ", "))")
        for file in sample.files {
            let dropbox = inventory.status(stage: .dropbox, fileName: file.name)
            switch file.expected {
            case .rejected(let code):
                check(dropbox?.status == .rejected, "\(file.name): dropbox status \(dropbox?.rawStatus ?? "missing"), expected REJECTED")
                check(dropbox?.errorCode == code, "\(file.name): rejection code \(dropbox?.errorCode ?? "none"), expected \(code)")
                check(!(dropbox?.reason ?? "").isEmpty, "\(file.name): rejected without a reason in the status table")
                check(inventory.rejectedKeys.contains(file.name), "\(file.name): not in rejected/")
                let document = inventory.rejectionDocuments[file.name]
                check(
                    document?["code"]?.stringValue == code && !(document?["reason"]?.stringValue ?? "").isEmpty,
                    "\(file.name): rejected/\(file.name).error.json missing or without code \(code) and a reason")
            case .accepted(let records, let bad):
                check(dropbox?.status == .accepted, "\(file.name): dropbox status \(dropbox?.rawStatus ?? "missing"), expected ACCEPTED (\(dropbox?.reason ?? ""))")
                guard stages.contains(.ingest) else { continue }
                let ingest = inventory.status(stage: .ingest, fileName: file.name)
                let expectedStatus: FileStatus = bad == 0 ? .ingested : .partial
                check(ingest?.status == expectedStatus, "\(file.name): ingest status \(ingest?.rawStatus ?? "missing"), expected \(expectedStatus.rawValue) (\(ingest?.reason ?? ""))")
                check(ingest?.records == records, "\(file.name): \(ingest?.records.map(String.init) ?? "no") records counted, expected \(records)")
                check(ingest?.indexed == records - bad, "\(file.name): \(ingest?.indexed.map(String.init) ?? "no") records indexed, expected \(records - bad)")
                let errorLines = inventory.errorObjects.first { $0.key.hasSuffix("/\(file.name).errors.jsonl") }?.value ?? 0
                check(errorLines == bad, "\(file.name): \(errorLines) lines in its errors object, expected \(bad)")
                check(
                    (ingest?.indexed ?? 0) + errorLines == records,
                    "\(file.name): \(records) records, but \(ingest?.indexed ?? 0) indexed + \(errorLines) in the errors object")
                if stages.contains(.processing), file.dataset == "totesys" {
                    let processing = inventory.status(stage: .processing, fileName: file.name)
                    check(processing?.status == .processed, "\(file.name): processing status \(processing?.rawStatus ?? "missing"), expected PROCESSED (\(processing?.reason ?? ""))")
                }
            }
        }
        if stages.contains(.ingest) {
            check(inventory.leftInIngest.isEmpty, "files still waiting under in/: \(inventory.leftInIngest.prefix(5).joined(separator: ", "))")
            for (index, expected) in sample.documentsPerIndex.sorted(by: { $0.key < $1.key }) {
                let found = inventory.documents[index] ?? 0
                check(found == expected, "index \(index): \(found) documents, expected \(expected)")
            }
            let expectedTotal = sample.documentsPerIndex.values.reduce(0, +)
            check(inventory.totalDocuments == expectedTotal, "OpenSearch holds \(inventory.totalDocuments) documents in all, expected \(expectedTotal)")
            let errorLines = inventory.errorObjects.values.reduce(0, +)
            check(errorLines == sample.badRecords, "\(errorLines) lines in errors objects, expected \(sample.badRecords)")
        }
        if stages.contains(.processing) {
            let rows = inventory.tableRows
            for (table, expected) in expectedTables.sorted(by: { $0.key < $1.key }) {
                let found = rows[table] ?? 0
                check(found == Int64(expected), "table \(table): \(found) rows, expected \(expected)")
            }
        }
        for (queue, depth) in inventory.queueDepths.sorted(by: { $0.key < $1.key }) {
            let function = FunctionKind.allCases.first { queue.hasSuffix("-\($0.rawValue)") || queue.hasSuffix("-\($0.rawValue)-dlq") }
            guard let function, stages.contains(function) else { continue }
            check(depth == 0, "queue \(queue) still holds \(depth) messages")
        }
    }

    package var passed: Bool { problems.isEmpty }
}
