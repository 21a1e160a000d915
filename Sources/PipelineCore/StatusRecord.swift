package import AWSClients
package import Primitives

/// The status table's attribute names (see the README's status-table section).
package enum StatusAttribute {
    package static let fileId = "file_id"
    package static let stage = "stage"
    package static let status = "status"
    package static let dataset = "dataset"
    package static let fileName = "file_name"
    package static let bucket = "bucket"
    package static let key = "key"
    package static let size = "size"
    package static let etag = "etag"
    package static let versionId = "version_id"
    package static let receivedAt = "received_at"
    package static let updatedAt = "updated_at"
    package static let attempt = "attempt"
    package static let claimOwner = "claim_owner"
    package static let claimExpiresAt = "claim_expires_at"
    package static let reason = "reason"
    package static let errorCode = "error_code"
    package static let records = "records"
    package static let indexed = "indexed"
    package static let failed = "failed"
    package static let skipped = "skipped"
    package static let progressOffset = "progress_offset"
    package static let progressRecord = "progress_record"
    package static let indexNames = "index_names"
    package static let bytes = "bytes"
    package static let durationMs = "duration_ms"
    package static let expiresAt = "expires_at"
}

/// What a stage knows about the file it claims: written on the claim.
package struct TrackedFile: Sendable, Hashable {
    package var dataset: String
    /// The key relative to the dataset's prefix in this stage (the `file_name` GSI's key).
    package var fileName: String
    package var bucket: String
    package var key: String
    package var size: Int64?
    /// Without quotes.
    package var etag: String?
    package var versionId: String?

    package init(
        dataset: String, fileName: String, bucket: String, key: String, size: Int64? = nil, etag: String? = nil,
        versionId: String? = nil
    ) {
        self.dataset = dataset
        self.fileName = fileName
        self.bucket = bucket
        self.key = key
        self.size = size
        self.etag = etag.map(FileId.unquoted)
        self.versionId = versionId
    }
}

/// What a stage writes when it finishes with a file (or updates along the way).
package struct StatusOutcome: Sendable, Hashable {
    package var status: FileStatus
    /// Why, in words a data provider understands (rejections, failures).
    package var reason: String?
    package var errorCode: String?
    package var records: Int?
    package var indexed: Int?
    package var failed: Int?
    package var skipped: Int?
    package var indexNames: [String]?
    package var bytes: Int64?
    package var durationMs: Int64?
    package var progressOffset: Int64?
    package var progressRecord: Int?
    /// Any further attributes (names must not clash with the ones above).
    package var extra: Item

    package init(
        status: FileStatus, reason: String? = nil, errorCode: String? = nil, records: Int? = nil, indexed: Int? = nil,
        failed: Int? = nil, skipped: Int? = nil, indexNames: [String]? = nil, bytes: Int64? = nil, durationMs: Int64? = nil,
        progressOffset: Int64? = nil, progressRecord: Int? = nil, extra: Item = [:]
    ) {
        self.status = status
        self.reason = reason
        self.errorCode = errorCode
        self.records = records
        self.indexed = indexed
        self.failed = failed
        self.skipped = skipped
        self.indexNames = indexNames
        self.bytes = bytes
        self.durationMs = durationMs
        self.progressOffset = progressOffset
        self.progressRecord = progressRecord
        self.extra = extra
    }

    /// The attributes to SET (status, reason and counts that are given).
    var attributes: [(String, AttributeValue)] {
        var out: [(String, AttributeValue)] = [(StatusAttribute.status, .s(status.rawValue))]
        if let reason { out.append((StatusAttribute.reason, .s(reason))) }
        if let errorCode { out.append((StatusAttribute.errorCode, .s(errorCode))) }
        if let records { out.append((StatusAttribute.records, .number(records))) }
        if let indexed { out.append((StatusAttribute.indexed, .number(indexed))) }
        if let failed { out.append((StatusAttribute.failed, .number(failed))) }
        if let skipped { out.append((StatusAttribute.skipped, .number(skipped))) }
        if let indexNames, !indexNames.isEmpty { out.append((StatusAttribute.indexNames, .ss(Array(Set(indexNames)).sorted()))) }
        if let bytes { out.append((StatusAttribute.bytes, .number(bytes))) }
        if let durationMs { out.append((StatusAttribute.durationMs, .number(durationMs))) }
        if let progressOffset { out.append((StatusAttribute.progressOffset, .number(progressOffset))) }
        if let progressRecord { out.append((StatusAttribute.progressRecord, .number(progressRecord))) }
        for (name, value) in extra.sorted(by: { $0.key < $1.key }) { out.append((name, value)) }
        return out
    }
}

/// One item of the status table, read back.
package struct StatusRecord: Sendable, Hashable {
    package var fileId: String
    package var stage: PipelineStage
    /// `nil` when the item holds a status this code does not know.
    package var status: FileStatus?
    package var rawStatus: String?
    package var dataset: String?
    package var fileName: String?
    package var bucket: String?
    package var key: String?
    package var size: Int64?
    package var etag: String?
    package var versionId: String?
    package var receivedAt: String?
    package var updatedAt: String?
    package var attempt: Int
    package var claimOwner: String?
    package var claimExpiresAt: Timestamp?
    package var reason: String?
    package var errorCode: String?
    package var records: Int?
    package var indexed: Int?
    package var failed: Int?
    package var skipped: Int?
    package var progressOffset: Int64?
    package var progressRecord: Int?
    package var indexNames: [String]
    package var bytes: Int64?
    package var durationMs: Int64?
    package var expiresAt: Int64?
    /// The whole item, for attributes not listed here.
    package var item: Item

    /// Reads an item; `nil` when it lacks its keys or has an unknown stage.
    package init?(item: Item) {
        guard let fileId = item.string(StatusAttribute.fileId), let stageText = item.string(StatusAttribute.stage),
            let stage = PipelineStage(rawValue: stageText)
        else { return nil }
        self.fileId = fileId
        self.stage = stage
        rawStatus = item.string(StatusAttribute.status)
        status = rawStatus.flatMap(FileStatus.init(rawValue:))
        dataset = item.string(StatusAttribute.dataset)
        fileName = item.string(StatusAttribute.fileName)
        bucket = item.string(StatusAttribute.bucket)
        key = item.string(StatusAttribute.key)
        size = item.int64(StatusAttribute.size)
        etag = item.string(StatusAttribute.etag)
        versionId = item.string(StatusAttribute.versionId)
        receivedAt = item.string(StatusAttribute.receivedAt)
        updatedAt = item.string(StatusAttribute.updatedAt)
        attempt = item.int(StatusAttribute.attempt) ?? 0
        claimOwner = item.string(StatusAttribute.claimOwner)
        claimExpiresAt = item.int64(StatusAttribute.claimExpiresAt).map { Timestamp(millisecondsSinceEpoch: $0) }
        reason = item.string(StatusAttribute.reason)
        errorCode = item.string(StatusAttribute.errorCode)
        records = item.int(StatusAttribute.records)
        indexed = item.int(StatusAttribute.indexed)
        failed = item.int(StatusAttribute.failed)
        skipped = item.int(StatusAttribute.skipped)
        progressOffset = item.int64(StatusAttribute.progressOffset)
        progressRecord = item.int(StatusAttribute.progressRecord)
        indexNames = (item.stringSet(StatusAttribute.indexNames) ?? []).sorted()
        bytes = item.int64(StatusAttribute.bytes)
        durationMs = item.int64(StatusAttribute.durationMs)
        expiresAt = item.int64(StatusAttribute.expiresAt)
        self.item = item
    }
}
