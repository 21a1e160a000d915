package import AWSClients
package import Primitives

/// What a claim found.
package enum ClaimResult: Sendable, Hashable {
    /// This invocation owns the file for this stage until its deadline; `record.attempt` counts
    /// the claims so far (1 on the first).
    case claimed(StatusRecord)
    /// The stage already finished with the file (a final status): acknowledge, do nothing again.
    case alreadyDone(StatusRecord)
    /// Another live invocation holds the claim until `until`: acknowledge (its own message is
    /// still in flight and is redelivered if it dies).
    case heldByOther(owner: String?, until: Timestamp?, record: StatusRecord)
}

/// The ingest status table (DynamoDB): one item per file version (`file_id`) and `stage`, written
/// with conditional updates so that exactly one invocation works on a file at a time and a
/// finished file is never done twice.
///
/// - `claim` succeeds when there is no item, or its claim expired (`claim_expires_at < now`, the
///   claiming invocation's deadline in epoch ms) and it is not in a final state; it sets the
///   stage's working status, the owner and deadline, and adds 1 to `attempt`.
/// - `complete`, `recordProgress` and `release` write only while the caller still owns the claim.
package struct StatusStore: Sendable {
    package let dynamoDB: DynamoDBClient
    package let table: String
    package let fileNameIndex: String
    package let datasetTimeIndex: String
    package let clock: any WallClock
    /// When set, every write also sets `expires_at` (epoch seconds) this far ahead (the table's TTL).
    package let timeToLive: Duration?

    package static let defaultFileNameIndex = "file_name_index"
    package static let defaultDatasetTimeIndex = "dataset_time_index"

    package init(
        dynamoDB: DynamoDBClient, table: String, fileNameIndex: String = StatusStore.defaultFileNameIndex,
        datasetTimeIndex: String = StatusStore.defaultDatasetTimeIndex, clock: any WallClock = SystemClock(),
        timeToLive: Duration? = nil
    ) {
        self.dynamoDB = dynamoDB
        self.table = table
        self.fileNameIndex = fileNameIndex
        self.datasetTimeIndex = datasetTimeIndex
        self.clock = clock
        self.timeToLive = timeToLive
    }

    private func key(_ fileId: String, _ stage: PipelineStage) -> Item {
        [StatusAttribute.fileId: .s(fileId), StatusAttribute.stage: .s(stage.rawValue)]
    }

    private func failure(_ what: String, _ fileId: String, _ error: DynamoDBError) -> PipelineCoreError {
        PipelineCoreError(.statusStore, "\(what) of \(fileId) in table \(table) failed: \(error.code)", aws: error.awsError)
    }

    /// `SET` clauses for `now` (and `expires_at`).
    private func timestamps(_ attributes: inout ExpressionAttributes, now: Timestamp) -> [String] {
        var clauses = ["\(attributes.name(StatusAttribute.updatedAt)) = \(attributes.value(.s(now.iso8601())))"]
        if let timeToLive {
            let seconds = now.secondsSinceEpoch + timeToLive.components.seconds
            clauses.append("\(attributes.name(StatusAttribute.expiresAt)) = \(attributes.value(.number(seconds)))")
        }
        return clauses
    }

    // MARK: Claims

    /// Claims `fileId` for `stage` on behalf of `owner` (the Lambda request id) until `deadline`.
    /// - Throws: `PipelineCoreError` `.statusStore` when the table cannot be written.
    package func claim(
        fileId: String, stage: PipelineStage, file: TrackedFile, owner: String, deadline: Timestamp
    ) async throws(PipelineCoreError) -> ClaimResult {
        let now = clock.now()
        var a = ExpressionAttributes()
        var sets = timestamps(&a, now: now)
        let received = a.name(StatusAttribute.receivedAt)
        sets.append("\(received) = if_not_exists(\(received), \(a.value(.s(now.iso8601()))))")
        // A token of this very call: when its answer is lost and the client sends it again, the
        // retry finds the claim taken, and the token says by whom.
        let token = IdempotencyToken.random()
        var fields: [(String, AttributeValue)] = [
            (StatusAttribute.status, .s(stage.workingStatus.rawValue)),
            (StatusAttribute.claimOwner, .s(owner)),
            (Self.claimTokenAttribute, .s(token)),
            (StatusAttribute.claimExpiresAt, .number(deadline.millisecondsSinceEpoch)),
            (StatusAttribute.dataset, .s(file.dataset)),
            (StatusAttribute.fileName, .s(file.fileName)),
            (StatusAttribute.bucket, .s(file.bucket)),
            (StatusAttribute.key, .s(file.key)),
        ]
        if let size = file.size { fields.append((StatusAttribute.size, .number(size))) }
        if let etag = file.etag, !etag.isEmpty { fields.append((StatusAttribute.etag, .s(etag))) }
        if let versionId = file.versionId, !versionId.isEmpty { fields.append((StatusAttribute.versionId, .s(versionId))) }
        for (name, value) in fields { sets.append("\(a.name(name)) = \(a.value(value))") }
        let update =
            "SET \(sets.joined(separator: ", ")) REMOVE \(a.name(StatusAttribute.reason)), \(a.name(StatusAttribute.errorCode)) ADD \(a.name(StatusAttribute.attempt)) \(a.value(1))"
        let expires = a.name(StatusAttribute.claimExpiresAt)
        let finals = FileStatus.finalStates.map { a.value(.s($0.rawValue)) }.joined(separator: ", ")
        let condition =
            "attribute_not_exists(\(a.name(StatusAttribute.fileId))) OR ((attribute_not_exists(\(expires)) OR \(expires) < \(a.value(.number(now.millisecondsSinceEpoch)))) AND NOT (\(a.name(StatusAttribute.status)) IN (\(finals))))"
        let request = UpdateItemRequest(
            tableName: table, key: key(fileId, stage), updateExpression: update, conditionExpression: condition,
            attributes: a, returnValues: .allNew, returnOldItemOnConditionFailure: true)
        do {
            let item = try await dynamoDB.updateItem(request)
            guard let item, let record = StatusRecord(item: item) else {
                throw PipelineCoreError(.statusStore, "the claim of \(fileId) in table \(table) returned no item")
            }
            return .claimed(record)
        } catch let error as DynamoDBError {
            guard case .conditionalCheckFailed(var item) = error else { throw failure("the claim", fileId, error) }
            if item == nil {
                do {
                    item = try await dynamoDB.getItem(table: table, key: key(fileId, stage), consistentRead: true)
                } catch {
                    throw failure("the claim", fileId, error)
                }
            }
            if item?.string(Self.claimTokenAttribute) == token, let mine = item.flatMap(StatusRecord.init(item:)) {
                // An earlier attempt of this call took the claim; its answer was lost.
                return .claimed(mine)
            }
            var current = item.flatMap(StatusRecord.init(item:))
            if current == nil { current = try await get(fileId: fileId, stage: stage, consistent: true) }
            guard let current else {
                // The item vanished between the write and the read (a TTL expiry): let SQS retry.
                throw PipelineCoreError(.statusStore, "the claim of \(fileId) failed but no item is there")
            }
            if current.status?.isFinal == true || (current.status == nil && current.rawStatus != nil) {
                return .alreadyDone(current)
            }
            return .heldByOther(owner: current.claimOwner, until: current.claimExpiresAt, record: current)
        } catch let error as PipelineCoreError {
            throw error
        } catch {
            throw PipelineCoreError(.statusStore, "the claim of \(fileId) failed: \(error)")
        }
    }

    static let claimTokenAttribute = "claim_token"

    /// `claim`, but when another invocation's live claim ends before `limit`, waits for it to end
    /// and claims again: a holder that died is taken over within this invocation, and one that
    /// finishes is then seen as done. Gives up waiting (answering `heldByOther`) when the claim
    /// would outlast `limit`.
    package func claim(
        fileId: String, stage: PipelineStage, file: TrackedFile, owner: String, deadline: Timestamp, waitingUntil limit: Timestamp
    ) async throws(PipelineCoreError) -> ClaimResult {
        var result = try await claim(fileId: fileId, stage: stage, file: file, owner: owner, deadline: deadline)
        for _ in 0..<4 {
            guard case .heldByOther(let holder, let until?, _) = result, holder != owner, until < limit else { return result }
            let wait = until.millisecondsSinceEpoch - clock.now().millisecondsSinceEpoch + 50
            if wait > 0 { try? await Task.sleep(for: .milliseconds(wait)) }
            result = try await claim(fileId: fileId, stage: stage, file: file, owner: owner, deadline: deadline)
        }
        return result
    }

    /// Writes the stage's outcome (normally a final status) while `owner` still holds the claim.
    /// - Throws: `.claimLost` when another invocation took the claim over; `.statusStore` otherwise.
    @discardableResult
    package func complete(
        fileId: String, stage: PipelineStage, owner: String, outcome: StatusOutcome
    ) async throws(PipelineCoreError) -> StatusRecord {
        try await ownedUpdate("completing", fileId: fileId, stage: stage, owner: owner, outcome.attributes, endClaim: outcome.status.isFinal)
    }

    /// Saves progress (resume offset, counts, the indices written so far) while `owner` holds the claim.
    @discardableResult
    package func recordProgress(
        fileId: String, stage: PipelineStage, owner: String, offset: Int64, recordNumber: Int, counts: [String: Int] = [:],
        indexNames: [String] = []
    ) async throws(PipelineCoreError) -> StatusRecord {
        var fields: [(String, AttributeValue)] = [
            (StatusAttribute.progressOffset, .number(offset)), (StatusAttribute.progressRecord, .number(recordNumber)),
        ]
        for (name, value) in counts.sorted(by: { $0.key < $1.key }) { fields.append((name, .number(value))) }
        if !indexNames.isEmpty { fields.append((StatusAttribute.indexNames, .ss(Array(Set(indexNames)).sorted()))) }
        return try await ownedUpdate("saving progress", fileId: fileId, stage: stage, owner: owner, fields, endClaim: false)
    }

    /// Gives the claim up without a final status (a transient failure), keeping the working status
    /// and noting why, so that the redelivered message can claim the file again at once.
    @discardableResult
    package func release(
        fileId: String, stage: PipelineStage, owner: String, reason: String, errorCode: String
    ) async throws(PipelineCoreError) -> StatusRecord {
        try await ownedUpdate(
            "releasing", fileId: fileId, stage: stage, owner: owner,
            [(StatusAttribute.reason, .s(reason)), (StatusAttribute.errorCode, .s(errorCode))], endClaim: true)
    }

    private func ownedUpdate(
        _ what: String, fileId: String, stage: PipelineStage, owner: String, _ fields: [(String, AttributeValue)], endClaim: Bool
    ) async throws(PipelineCoreError) -> StatusRecord {
        let now = clock.now()
        var a = ExpressionAttributes()
        var sets = timestamps(&a, now: now)
        for (name, value) in fields { sets.append("\(a.name(name)) = \(a.value(value))") }
        // A finished or released claim expires now, so nothing mistakes it for a live one.
        if endClaim { sets.append("\(a.name(StatusAttribute.claimExpiresAt)) = \(a.value(.number(0)))") }
        let condition = "\(a.name(StatusAttribute.claimOwner)) = \(a.value(.s(owner)))"
        let request = UpdateItemRequest(
            tableName: table, key: key(fileId, stage), updateExpression: "SET \(sets.joined(separator: ", "))",
            conditionExpression: condition, attributes: a, returnValues: .allNew, returnOldItemOnConditionFailure: true)
        do {
            guard let item = try await dynamoDB.updateItem(request), let record = StatusRecord(item: item) else {
                throw PipelineCoreError(.statusStore, "\(what) \(fileId) in table \(table) returned no item")
            }
            return record
        } catch let error as DynamoDBError {
            if case .conditionalCheckFailed(let item) = error {
                let holder = item.flatMap(StatusRecord.init(item:))?.claimOwner ?? "nobody"
                throw PipelineCoreError(.claimLost, "\(what) \(fileId): the claim of \(owner) was taken over by \(holder)")
            }
            throw failure(what, fileId, error)
        } catch let error as PipelineCoreError {
            throw error
        } catch {
            throw PipelineCoreError(.statusStore, "\(what) \(fileId) failed: \(error)")
        }
    }

    // MARK: Reads

    /// The item for `fileId` and `stage`, if any.
    package func get(fileId: String, stage: PipelineStage, consistent: Bool = true) async throws(PipelineCoreError) -> StatusRecord? {
        do {
            return try await dynamoDB.getItem(table: table, key: key(fileId, stage), consistentRead: consistent)
                .flatMap(StatusRecord.init(item:))
        } catch {
            throw failure("reading", fileId, error)
        }
    }

    /// Every stage's item for `fileName` (the `file_name` GSI), oldest update first.
    package func history(fileName: String) async throws(PipelineCoreError) -> [StatusRecord] {
        var a = ExpressionAttributes()
        let condition = "\(a.name(StatusAttribute.fileName)) = \(a.value(.s(fileName)))"
        return try await query(index: fileNameIndex, condition: condition, attributes: a, label: "file \(fileName)")
    }

    /// A dataset's items updated in `[from, to]` (the `dataset_time_index` GSI), oldest first.
    package func updates(dataset: String, from: Timestamp, to: Timestamp) async throws(PipelineCoreError) -> [StatusRecord] {
        var a = ExpressionAttributes()
        let updated = a.name(StatusAttribute.updatedAt)
        let condition =
            "\(a.name(StatusAttribute.dataset)) = \(a.value(.s(dataset))) AND \(updated) BETWEEN \(a.value(.s(from.iso8601()))) AND \(a.value(.s(to.iso8601())))"
        return try await query(index: datasetTimeIndex, condition: condition, attributes: a, label: "dataset \(dataset)")
    }

    private func query(index: String, condition: String, attributes: ExpressionAttributes, label: String)
        async throws(PipelineCoreError) -> [StatusRecord]
    {
        do {
            return try await dynamoDB.queryAll(
                QueryRequest(tableName: table, indexName: index, keyConditionExpression: condition, attributes: attributes)
            ).compactMap(StatusRecord.init(item:))
        } catch {
            throw failure("querying \(index)", label, error)
        }
    }

    // MARK: Set-up

    /// The table's definition: keys `file_id`/`stage` and the two GSIs on `updated_at`.
    package static func tableDefinition(
        table: String, fileNameIndex: String = defaultFileNameIndex, datasetTimeIndex: String = defaultDatasetTimeIndex
    ) -> CreateTableRequest {
        CreateTableRequest(
            tableName: table,
            keys: KeySchema(partitionKey: KeyAttribute(StatusAttribute.fileId, .string), sortKey: KeyAttribute(StatusAttribute.stage, .string)),
            globalSecondaryIndexes: [
                GlobalSecondaryIndex(
                    name: fileNameIndex,
                    keys: KeySchema(
                        partitionKey: KeyAttribute(StatusAttribute.fileName, .string),
                        sortKey: KeyAttribute(StatusAttribute.updatedAt, .string))),
                GlobalSecondaryIndex(
                    name: datasetTimeIndex,
                    keys: KeySchema(
                        partitionKey: KeyAttribute(StatusAttribute.dataset, .string),
                        sortKey: KeyAttribute(StatusAttribute.updatedAt, .string))),
            ])
    }

    /// Creates the table with its GSIs and TTL on `expires_at`, and waits until it is active
    /// (local stacks and tests; production tables come from the infrastructure code).
    package static func createTable(
        _ dynamoDB: DynamoDBClient, table: String, fileNameIndex: String = defaultFileNameIndex,
        datasetTimeIndex: String = defaultDatasetTimeIndex
    ) async throws(PipelineCoreError) {
        do {
            try await dynamoDB.createTable(tableDefinition(table: table, fileNameIndex: fileNameIndex, datasetTimeIndex: datasetTimeIndex))
            _ = try await dynamoDB.waitUntilActive(table, interval: .milliseconds(200))
            try await dynamoDB.updateTimeToLive(table: table, attribute: StatusAttribute.expiresAt)
        } catch {
            throw PipelineCoreError(.statusStore, "creating table \(table) failed: \(error)", aws: error.awsError)
        }
    }
}
