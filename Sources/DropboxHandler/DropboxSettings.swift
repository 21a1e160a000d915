package import PipelineSettings

/// The dropbox handler's settings, read once at init. Every error names the variable at fault.
package struct DropboxSettings: Sendable, Hashable {
    /// `DROPBOX_BUCKET_NAME`: events from any other bucket are acknowledged and ignored.
    package var dropboxBucket: String
    /// `DROPBOX_PREFIX` (default `received_files/`): where data providers drop files.
    package var incomingPrefix: String
    /// `INGEST_BUCKET_NAME`: accepted files go to `in/<dataset>/<key without the prefix>` there.
    package var ingestBucket: String
    /// Where accepted files go in the ingest bucket (`in/`).
    package var acceptedPrefix: String
    /// Where rejected files go in the dropbox bucket (`rejected/`).
    package var rejectedPrefix: String
    /// `MULTIPART_COPY_THRESHOLD_MB` (default 5120): larger files are copied with UploadPartCopy.
    package var multipartCopyThresholdBytes: Int64
    /// `MULTIPART_COPY_PART_MB` (default 512): bytes per copied part.
    package var multipartCopyPartBytes: Int
    /// `DROPBOX_SAMPLE_KB` (default 256): how much of a file is range-read to check its first records.
    package var sampleBytes: Int
    /// `BATCH_CONCURRENCY` (default 4, 1…10): how many records of an SQS batch are handled at once
    /// (FIFO queues: one at a time per message group). 1 handles them in the event's order.
    package var batchConcurrency: Int
    /// `STATUS_TTL_DAYS` (optional): status items expire this many days after their last update.
    package var statusTimeToLiveDays: Int?
    /// `INGEST_STATUS_TABLE`, `INGEST_STATUS_FILE_NAME_GSI`, `MAX_FILE_SIZE_MB`, `DATASETS_PARAMETER`
    /// / `DATASETS_FILE`, `METRICS_NAMESPACE`, `DEADLINE_MARGIN_MS`.
    package var common: CommonSettings

    package init(_ reader: SettingsReader) throws(SettingsError) {
        dropboxBucket = try reader.bucket("DROPBOX_BUCKET_NAME")
        ingestBucket = try reader.bucket("INGEST_BUCKET_NAME")
        incomingPrefix = try Self.prefix(reader, "DROPBOX_PREFIX", default: "received_files/")
        acceptedPrefix = "in/"
        rejectedPrefix = "rejected/"
        if incomingPrefix.hasPrefix(rejectedPrefix) || rejectedPrefix.hasPrefix(incomingPrefix) {
            throw SettingsError(
                .invalid, setting: "DROPBOX_PREFIX", detail: "'\(incomingPrefix)' overlaps the rejected/ folder of the dropbox bucket")
        }
        multipartCopyThresholdBytes = try reader.megabytes("MULTIPART_COPY_THRESHOLD_MB", default: 5120, range: 0.000001...5120)
        multipartCopyPartBytes = Int(try reader.megabytes("MULTIPART_COPY_PART_MB", default: 512, range: 5...5120))
        sampleBytes = try reader.integer("DROPBOX_SAMPLE_KB", default: 256, range: 1...65_536) << 10
        batchConcurrency = try reader.integer("BATCH_CONCURRENCY", default: 4, range: 1...10)
        statusTimeToLiveDays = try reader.optional("STATUS_TTL_DAYS").map { _ throws(SettingsError) in
            try reader.integer("STATUS_TTL_DAYS", default: 0, range: 1...36_500)
        }
        common = try CommonSettings(reader)
    }

    /// A key prefix: empty, or ending in `/`, without a leading `/`.
    static func prefix(_ reader: SettingsReader, _ name: String, default fallback: String) throws(SettingsError) -> String {
        let value = reader.string(name, default: fallback)
        guard !value.hasPrefix("/"), value.isEmpty || value.hasSuffix("/") else {
            throw SettingsError(.invalid, setting: name, detail: "'\(value)' must be a key prefix such as received_files/ (no leading /, a trailing /)")
        }
        return value
    }
}
