package import AWSClients
package import JSONCodec
import PipelineCore
package import Primitives

/// The latest extract processed for one source table.
package struct Watermark: Sendable, Hashable {
    /// The extract's id (its latest row id).
    package var latestRowId: Int64
    /// The extract's object key.
    package var key: String
    /// The extract's `{timestamp}` key part, as written.
    package var timestamp: String
    /// When it was processed (ISO 8601, UTC).
    package var processedAt: String
    /// Source rows processed for the table so far, over every extract: fact surrogate keys
    /// continue from here, so a retried extract numbers its rows the same way.
    package var rows: Int64

    package init(latestRowId: Int64, key: String, timestamp: String, processedAt: String, rows: Int64) {
        self.latestRowId = latestRowId
        self.key = key
        self.timestamp = timestamp
        self.processedAt = processedAt
        self.rows = rows
    }

    /// The SSM parameter's value: `{"latest_row_id", "key", "timestamp", "processed_at", "rows"}`.
    package var json: JSON {
        [
            "latest_row_id": .number(latestRowId), "key": .string(key), "timestamp": .string(timestamp),
            "processed_at": .string(processedAt), "rows": .number(rows),
        ]
    }

    package init?(json: JSON) {
        guard let id = json["latest_row_id"]?.int64Value else { return nil }
        latestRowId = id
        key = json["key"]?.stringValue ?? ""
        timestamp = json["timestamp"]?.stringValue ?? ""
        processedAt = json["processed_at"]?.stringValue ?? ""
        rows = json["rows"]?.int64Value ?? 0
    }
}

/// An extract applied to the star schema: its marker in the status table
/// (`file_id = "applied#<table>#<extract id>"`), written with the watermark.
package struct AppliedExtract: Sendable, Hashable {
    package var extractId: Int64
    /// The file id of the upload that was applied (a re-upload of the extract has another).
    package var fileId: String
    package var rows: Int64

    package init(extractId: Int64, fileId: String, rows: Int64) {
        self.extractId = extractId
        self.fileId = fileId
        self.rows = rows
    }
}

/// Watermarks, one per source table.
///
/// The SSM parameter `<prefix><table>` is the published value that people and tools read. SSM has
/// no conditional write, so the advance is made safe by a DynamoDB conditional update on a
/// status-table item (`file_id = "watermark#<table>"`, `stage = "processing"`), conditioned on the
/// previous id: of two invocations that read the same watermark, only one can advance it. The SSM
/// parameter is written (with Overwrite) after the DynamoDB item. If the process dies between the
/// two, SSM lags behind; `current(table:)` finds the difference on the next run and writes SSM again
/// from DynamoDB, which is the authority. When DynamoDB has no item but SSM has a value (a new status
/// table), the SSM value is the starting point.
package struct WatermarkStore: Sendable {
    package let dynamoDB: DynamoDBClient
    package let ssm: SSMClient
    package let table: String
    package let parameterPrefix: String

    package init(dynamoDB: DynamoDBClient, ssm: SSMClient, table: String, parameterPrefix: String) {
        self.dynamoDB = dynamoDB
        self.ssm = ssm
        self.table = table
        self.parameterPrefix = parameterPrefix
    }

    package func parameterName(_ sourceTable: String) -> String { parameterPrefix + sourceTable }

    private func key(_ sourceTable: String) -> Item {
        [StatusAttribute.fileId: .s("watermark#\(sourceTable)"), StatusAttribute.stage: .s(PipelineStage.processing.rawValue)]
    }

    private static func watermark(_ item: Item) -> Watermark? {
        guard let id = item.int64("latest_row_id") else { return nil }
        return Watermark(
            latestRowId: id, key: item.string("extract_key") ?? "", timestamp: item.string("extract_timestamp") ?? "",
            processedAt: item.string("processed_at") ?? "", rows: item.int64("total_rows") ?? 0)
    }

    /// The published (SSM) watermark, if any.
    package func published(_ sourceTable: String) async throws(ProcessingError) -> Watermark? {
        do {
            let parameter = try await ssm.getParameter(parameterName(sourceTable), withDecryption: false)
            guard let value = Watermark(json: (try? JSONParser.parse(parameter.value)) ?? .null) else {
                throw ProcessingError(.watermark, "SSM parameter \(parameterName(sourceTable)) is not a watermark document")
            }
            return value
        } catch let error as SSMError {
            if case .parameterNotFound = error { return nil }
            throw ProcessingError(.watermark, "reading SSM parameter \(parameterName(sourceTable)) failed: \(error.code)", aws: error.awsError)
        } catch let error as ProcessingError {
            throw error
        } catch {
            throw ProcessingError(.watermark, "reading SSM parameter \(parameterName(sourceTable)) failed")
        }
    }

    /// The watermark of `sourceTable` (DynamoDB first, SSM when DynamoDB has none), reconciling a
    /// lagging SSM parameter. `reconciled` says whether SSM had to be rewritten. `markedAbove` is
    /// the id above which every applied extract has its marker (`AppliedExtract`): an extract above
    /// it without a marker was never applied, even when it is below the watermark.
    package func current(_ sourceTable: String) async throws(ProcessingError) -> (
        watermark: Watermark?, reconciled: Bool, markedAbove: Int64?
    ) {
        let item: Item?
        do {
            item = try await dynamoDB.getItem(table: table, key: key(sourceTable), consistentRead: true)
        } catch {
            throw ProcessingError(.watermark, "reading the watermark item of \(sourceTable) failed: \(error.code)", aws: error.awsError)
        }
        let published = try await published(sourceTable)
        guard let item, let authoritative = Self.watermark(item) else { return (published, false, published?.latestRowId) }
        // An item written before markers existed: everything at or below it counts as applied.
        let markedAbove = item.int64(Self.markedAboveAttribute) ?? authoritative.latestRowId
        if published != authoritative {
            try await publish(sourceTable, authoritative)
            return (authoritative, true, markedAbove)
        }
        return (authoritative, false, markedAbove)
    }

    static let markedAboveAttribute = "marked_above"

    private func markerKey(_ sourceTable: String, _ extractId: Int64) -> Item {
        [StatusAttribute.fileId: .s("applied#\(sourceTable)#\(extractId)"), StatusAttribute.stage: .s(PipelineStage.processing.rawValue)]
    }

    /// The marker of extract `extractId` of `sourceTable`, if it was applied.
    package func applied(_ sourceTable: String, extractId: Int64) async throws(ProcessingError) -> AppliedExtract? {
        let item: Item?
        do {
            item = try await dynamoDB.getItem(table: table, key: markerKey(sourceTable, extractId), consistentRead: true)
        } catch {
            throw ProcessingError(.watermark, "reading the marker of extract \(extractId) of \(sourceTable) failed: \(error.code)", aws: error.awsError)
        }
        guard let item else { return nil }
        return AppliedExtract(extractId: extractId, fileId: item.string("applied_file_id") ?? "", rows: item.int64("rows") ?? 0)
    }

    /// Moves the watermark from `previous` to `next`, or fails with `.watermarkMoved` when another
    /// invocation moved it first. With `applying`, the extract's marker is written in the same
    /// transaction (refused if the extract was already applied), so an extract is applied once
    /// and it is known which ones were, whatever order they come in.
    package func advance(
        _ sourceTable: String, from previous: Watermark?, to next: Watermark, applying: AppliedExtract? = nil
    ) async throws(ProcessingError) {
        var a = ExpressionAttributes()
        let id = a.name("latest_row_id")
        var sets = [
            "\(id) = \(a.value(.number(next.latestRowId)))", "\(a.name("extract_key")) = \(a.value(.s(next.key)))",
            "\(a.name("extract_timestamp")) = \(a.value(.s(next.timestamp)))",
            "\(a.name("processed_at")) = \(a.value(.s(next.processedAt)))",
            "\(a.name("total_rows")) = \(a.value(.number(next.rows)))",
            "\(a.name(StatusAttribute.updatedAt)) = \(a.value(.s(next.processedAt)))",
        ]
        if applying != nil {
            let marked = a.name(Self.markedAboveAttribute)
            sets.append("\(marked) = if_not_exists(\(marked), \(a.value(.number(previous?.latestRowId ?? 0))))")
        }
        var condition =
            previous.map { "\(id) = \(a.value(.number($0.latestRowId)))" } ?? "attribute_not_exists(\(id))"
        if let previous { condition += " AND \(a.name("total_rows")) = \(a.value(.number(previous.rows)))" }
        let request = UpdateItemRequest(
            tableName: table, key: key(sourceTable), updateExpression: "SET \(sets.joined(separator: ", "))",
            conditionExpression: condition, attributes: a)
        let moved = ProcessingError(
            .watermarkMoved,
            "the watermark of \(sourceTable) moved from \(previous.map { String($0.latestRowId) } ?? "none") while extract \(applying?.extractId ?? next.latestRowId) was processed")
        do {
            if let applying {
                var m = ExpressionAttributes()
                var marker = markerKey(sourceTable, applying.extractId)
                marker["applied_file_id"] = .s(applying.fileId)
                marker["rows"] = .number(applying.rows)
                marker[StatusAttribute.updatedAt] = .s(next.processedAt)
                let put = PutItemRequest(
                    tableName: table, item: marker, conditionExpression: "attribute_not_exists(\(m.name(StatusAttribute.fileId)))", attributes: m)
                try await dynamoDB.transactWriteItems(TransactWriteRequest(items: [.update(request), .put(put)]))
            } else {
                _ = try await dynamoDB.updateItem(request)
            }
        } catch {
            switch error {
            case .conditionalCheckFailed: throw moved
            case .transactionCanceled(let reasons) where reasons.contains(where: { $0.code == "ConditionalCheckFailed" }): throw moved
            default:
                throw ProcessingError(.watermark, "advancing the watermark of \(sourceTable) failed: \(error.code)", aws: error.awsError)
            }
        }
        try await publish(sourceTable, next)
    }

    private func publish(_ sourceTable: String, _ watermark: Watermark) async throws(ProcessingError) {
        do {
            try await ssm.putParameter(parameterName(sourceTable), value: watermark.json.text, overwrite: true)
        } catch {
            throw ProcessingError(.watermark, "writing SSM parameter \(parameterName(sourceTable)) failed: \(error.code)", aws: error.awsError)
        }
    }
}

/// A lease on a star schema's shared state (the source states, the dimensions, the date
/// dimension), so that two extracts never rewrite them from different snapshots. It is an item of
/// the status table (`file_id = "lock#<schema>"`, `stage = "processing"`) taken with a conditional
/// update: free when absent, released (`claim_expires_at` 0), expired, or already ours. It expires
/// at the holder's deadline, so a crashed holder frees it by itself.
package struct SchemaLock: Sendable {
    package let dynamoDB: DynamoDBClient
    package let table: String
    package let schema: String

    package init(dynamoDB: DynamoDBClient, table: String, schema: String) {
        self.dynamoDB = dynamoDB
        self.table = table
        self.schema = schema
    }

    private var key: Item {
        [StatusAttribute.fileId: .s("lock#\(schema)"), StatusAttribute.stage: .s(PipelineStage.processing.rawValue)]
    }

    /// Takes the lock for `owner` until `deadline`; false when another live owner holds it.
    package func tryAcquire(owner: String, deadline: Timestamp, now: Timestamp) async throws(ProcessingError) -> Bool {
        var a = ExpressionAttributes()
        let holder = a.name(StatusAttribute.claimOwner)
        let expires = a.name(StatusAttribute.claimExpiresAt)
        let update =
            "SET \(holder) = \(a.value(.s(owner))), \(expires) = \(a.value(.number(deadline.millisecondsSinceEpoch))), \(a.name(StatusAttribute.updatedAt)) = \(a.value(.s(now.iso8601())))"
        let condition =
            "attribute_not_exists(\(a.name(StatusAttribute.fileId))) OR \(expires) < \(a.value(.number(now.millisecondsSinceEpoch))) OR \(holder) = \(a.value(.s(owner)))"
        do {
            _ = try await dynamoDB.updateItem(
                UpdateItemRequest(tableName: table, key: key, updateExpression: update, conditionExpression: condition, attributes: a))
            return true
        } catch {
            if case .conditionalCheckFailed = error { return false }
            throw ProcessingError(.statusStore, "taking the lock of schema \(schema) failed: \(error.code)", aws: error.awsError)
        }
    }

    /// Gives the lock up (only if `owner` still holds it).
    package func release(owner: String) async {
        var a = ExpressionAttributes()
        let update = "SET \(a.name(StatusAttribute.claimExpiresAt)) = \(a.value(.number(0)))"
        let condition = "\(a.name(StatusAttribute.claimOwner)) = \(a.value(.s(owner)))"
        _ = try? await dynamoDB.updateItem(
            UpdateItemRequest(tableName: table, key: key, updateExpression: update, conditionExpression: condition, attributes: a))
    }
}
