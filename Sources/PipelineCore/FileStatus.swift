import Primitives

/// A pipeline stage: the sort key of the status table.
package enum PipelineStage: String, Sendable, Hashable, CaseIterable {
    case dropbox, ingest, processing

    /// The status a claimed file has while this stage works on it.
    package var workingStatus: FileStatus {
        switch self {
        case .dropbox: .received
        case .ingest: .ingesting
        case .processing: .processing
        }
    }
}

/// A file's status in one stage. Final states are never claimed again.
package enum FileStatus: String, Sendable, Hashable, CaseIterable {
    case received = "RECEIVED"
    case rejected = "REJECTED"
    case accepted = "ACCEPTED"
    case ingesting = "INGESTING"
    case ingested = "INGESTED"
    case partial = "PARTIAL"
    case failed = "FAILED"
    case processing = "PROCESSING"
    case processed = "PROCESSED"
    case skipped = "SKIPPED"

    /// REJECTED, ACCEPTED, INGESTED, PARTIAL, FAILED, PROCESSED and SKIPPED.
    package var isFinal: Bool {
        switch self {
        case .received, .ingesting, .processing: false
        default: true
        }
    }

    package static let finalStates: [FileStatus] = allCases.filter(\.isFinal)
}

/// The stable id of a file version across stages:
/// `<dataset>/<path relative to the dataset's incoming prefix>@<ETag without quotes, or versionId>`.
package enum FileId {
    /// - Parameters:
    ///   - relativePath: the key without the stage's prefix (`received_files/` in the dropbox,
    ///     `in/<dataset>/` in the ingest bucket).
    ///   - versionId: preferred when the bucket is versioned (`null` means unversioned).
    package static func make(dataset: String, relativePath: String, etag: String?, versionId: String?) -> String {
        let version: String
        if let versionId, !versionId.isEmpty, versionId != "null" {
            version = versionId
        } else {
            version = unquoted(etag ?? "")
        }
        return "\(dataset)/\(relativePath)@\(version)"
    }

    /// An ETag without its quotes (`"abc"` → `abc`; a weak `W/"abc"` → `abc`).
    package static func unquoted(_ etag: String) -> String {
        var text = Substring(etag)
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        if text.count >= 2, text.first == "\"", text.last == "\"" { text = text.dropFirst().dropLast() }
        return String(text)
    }
}

/// The user metadata the pipeline carries on moved objects (`x-amz-meta-pipeline-*`). Values are
/// percent-encoded where HTTP headers cannot carry them (non-ASCII, `%`, control characters).
package enum PipelineMetadata {
    package static let fileId = "pipeline-file-id"
    package static let dataset = "pipeline-dataset"
    package static let sourceKey = "pipeline-source-key"
    package static let sourceETag = "pipeline-source-etag"

    private static let allowed = PercentEncoding.AllowedSet(unreservedPlus: "/@:+=,;!*'()$&[]{}#?")

    /// A value safe for an S3 metadata header.
    package static func encode(_ value: String) -> String { PercentEncoding.encode(value, allowing: allowed) }

    /// The original value (the text itself when it holds no valid escape).
    package static func decode(_ value: String) -> String { PercentEncoding.decode(value) ?? value }

    /// S3's limit on an object's user metadata: the UTF-8 bytes of every name (without
    /// `x-amz-meta-`) and value together.
    package static let sizeLimit = 2048

    /// The bytes `metadata` counts against `sizeLimit`.
    package static func size(_ metadata: [String: String]) -> Int {
        metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
    }

    /// The metadata for a file moved on by a stage.
    package static func make(fileId: String, dataset: String, sourceKey: String, sourceETag: String) -> [String: String] {
        [
            Self.fileId: encode(fileId), Self.dataset: encode(dataset), Self.sourceKey: encode(sourceKey),
            Self.sourceETag: encode(FileId.unquoted(sourceETag)),
        ]
    }
}
