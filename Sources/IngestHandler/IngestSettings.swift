package import AWSClients
package import PipelineSettings

/// The ingest handler's settings, read once at init. Every bad value is a `SettingsError` naming
/// the variable.
package struct IngestSettings: Sendable, Hashable {
    /// `INGEST_BUCKET_NAME`: the bucket whose `in/` prefix the handler reads.
    package var ingestBucket: String
    /// `OPEN_SEARCH_ENDPOINT`: the domain or collection URL (checked by the OpenSearch client).
    package var openSearchEndpoint: String
    /// `OPEN_SEARCH_SERVICE`: `es` (a managed domain) or `aoss` (Serverless).
    package var openSearchService: String
    /// `CHUNK_SIZE_MB` (default 5): the most NDJSON bytes per bulk request.
    package var chunkBytes: Int
    /// `GENERATE_IDS` (default false): ids from file identity and record number, not id fields.
    package var generateIDs: Bool
    /// `BULK_CONCURRENCY` (default 4): bulk requests in flight at once.
    package var bulkConcurrency: Int
    /// `BULK_MAX_ATTEMPTS` (default 6): attempts per action for item and request 429/5xx.
    package var bulkMaxAttempts: Int
    /// `BULK_LEAN_ANSWERS` (default true): bulk requests ask for `errors` and each item's `status`
    /// and `error` only (`filter_path`); false asks for whole answers, for a cluster or proxy that
    /// refuses `filter_path`.
    package var bulkLeanAnswers: Bool
    /// `MAX_RECORD_MB` (default 4): the longest line or record; longer ones are reported and skipped.
    package var maxRecordBytes: Int
    /// `MULTIPART_COPY_THRESHOLD_MB` (default 5120): moves of larger files copy in parts.
    package var multipartCopyThreshold: Int64
    package var common: CommonSettings

    package init(_ reader: SettingsReader) throws(SettingsError) {
        ingestBucket = try reader.bucket("INGEST_BUCKET_NAME")
        openSearchEndpoint = try reader.required("OPEN_SEARCH_ENDPOINT")
        openSearchService = try reader.choice("OPEN_SEARCH_SERVICE", default: "es", allowed: ["es", "aoss"])
        chunkBytes = Int(try reader.megabytes("CHUNK_SIZE_MB", default: 5, range: 0.001...100))
        generateIDs = try reader.bool("GENERATE_IDS", default: false)
        bulkConcurrency = try reader.integer("BULK_CONCURRENCY", default: 4, range: 1...64)
        bulkMaxAttempts = try reader.integer("BULK_MAX_ATTEMPTS", default: 6, range: 1...20)
        bulkLeanAnswers = try reader.bool("BULK_LEAN_ANSWERS", default: true)
        maxRecordBytes = Int(try reader.megabytes("MAX_RECORD_MB", default: 4, range: 0.001...256))
        multipartCopyThreshold = try reader.megabytes("MULTIPART_COPY_THRESHOLD_MB", default: 5120, range: 5...5120)
        common = try CommonSettings(reader)
    }

    /// How the bulk indexer cuts, retries and asks for answers (the engine keeps
    /// `bulkConcurrency` batches in flight, each sent by itself).
    package var bulk: BulkSettings {
        BulkSettings(
            maxRequestBytes: chunkBytes, concurrency: 1, maxAttempts: bulkMaxAttempts,
            answerFilter: bulkLeanAnswers ? BulkSettings.leanAnswer : nil)
    }
}
