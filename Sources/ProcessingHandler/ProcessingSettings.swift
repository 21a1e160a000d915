package import PipelineSettings
package import Primitives

/// The processing handler's settings, read once at init. A bad one is an init error naming it.
///
/// | variable | meaning |
/// | --- | --- |
/// | `EXTRACTS_BUCKET_NAME` | where extracts arrive (default `INGEST_BUCKET_NAME`) |
/// | `EXTRACTS_PREFIX` | the prefix they arrive under (default `processed/`) |
/// | `PROCESSED_BUCKET_NAME` | where the star schema is written (`<table>/…parquet`, state under `_state/`) |
/// | `STAR_SCHEMA_PARAMETER` / `STAR_SCHEMA_FILE` | the specification (default file `/var/task/star-schema.json`) |
/// | `WATERMARK_PARAMETER_PREFIX` | SSM watermarks, one per table (default `/pipeline/watermarks/`) |
/// | `PARQUET_ROW_GROUP_MB` | row groups are cut at about this size (default 16) |
/// | `MULTIPART_PART_SIZE_MB` | outputs above this go up in parts of this size (default 8, at least 5) |
/// | `SCHEMA_LOCK_WAIT_MS` | how long to wait between looks at a busy schema lock (default 500) |
package struct ProcessingSettings: Sendable, Hashable {
    package var common: CommonSettings
    package var extractsBucket: String
    package var extractsPrefix: String
    package var processedBucket: String
    package var starSchema: DocumentSource
    package var watermarkPrefix: String
    package var rowGroupBytes: Int
    package var partSize: Int
    package var lockPollInterval: Duration

    package static let defaultSpecificationFile = "/var/task/star-schema.json"

    package init(environment: Environment) throws(SettingsError) {
        let reader = SettingsReader(environment)
        common = try CommonSettings(reader)
        if reader.optional("EXTRACTS_BUCKET_NAME") != nil {
            extractsBucket = try reader.bucket("EXTRACTS_BUCKET_NAME")
        } else if reader.optional("INGEST_BUCKET_NAME") != nil {
            extractsBucket = try reader.bucket("INGEST_BUCKET_NAME")
        } else {
            throw SettingsError(.missing, setting: "EXTRACTS_BUCKET_NAME", detail: "set EXTRACTS_BUCKET_NAME or INGEST_BUCKET_NAME")
        }
        extractsPrefix = reader.string("EXTRACTS_PREFIX", default: "processed/")
        if !extractsPrefix.isEmpty, !extractsPrefix.hasSuffix("/") { extractsPrefix += "/" }
        processedBucket = try reader.bucket("PROCESSED_BUCKET_NAME")
        starSchema = try DocumentSource.from(reader, prefix: "STAR_SCHEMA", defaultFile: Self.defaultSpecificationFile)
        watermarkPrefix = reader.string("WATERMARK_PARAMETER_PREFIX", default: "/pipeline/watermarks/")
        guard watermarkPrefix.hasPrefix("/") else {
            throw SettingsError(.invalid, setting: "WATERMARK_PARAMETER_PREFIX", detail: "must start with '/' (a parameter path)")
        }
        if !watermarkPrefix.hasSuffix("/") { watermarkPrefix += "/" }
        rowGroupBytes = Int(try reader.megabytes("PARQUET_ROW_GROUP_MB", default: 16, range: 0.01...1024))
        partSize = Int(try reader.megabytes("MULTIPART_PART_SIZE_MB", default: 8, range: 5...5120))
        lockPollInterval = .milliseconds(try reader.integer("SCHEMA_LOCK_WAIT_MS", default: 500, range: 10...60_000))
    }
}
