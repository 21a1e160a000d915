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

    /// The fields a copy can do without when S3's limit leaves no room for them: a stage derives
    /// the file id again from the key and `pipeline-source-etag`, and matches the dataset's key
    /// pattern on the key it finds the file under. Dropped first, in this order.
    package static let derivable = [sourceKey, fileId]

    /// The metadata a copy of an object with `source`'s metadata gets when the pipeline adds
    /// `ours`, within `sizeLimit` (S3 refuses a larger copy with `MetadataTooLarge`; a long
    /// non-ASCII key, percent-encoded in two fields, or a provider's own metadata near the limit
    /// would get there). What does not fit goes: first the derivable pipeline fields, then the
    /// source's own fields, largest first. `pipeline-source-etag` (which verifies the copy) and
    /// `pipeline-dataset` stay.
    /// - Returns: the source's fields and ours that are kept (the copy gets both, ours winning),
    ///   and the names dropped.
    package static func fitting(_ ours: [String: String], beside source: [String: String])
        -> (source: [String: String], ours: [String: String], dropped: [String])
    {
        var ours = ours
        var source = source
        var dropped: [String] = []
        func total() -> Int { size(source.merging(ours) { _, new in new }) }
        for name in derivable where total() > sizeLimit {
            let inOurs = ours.removeValue(forKey: name) != nil
            let inSource = source.removeValue(forKey: name) != nil
            if inOurs || inSource { dropped.append(name) }
        }
        let kept: Set<String> = [sourceETag, dataset]
        let theirs = source.filter { !kept.contains($0.key) && ours[$0.key] == nil }
            .sorted { ($0.key.utf8.count + $0.value.utf8.count, $1.key) > ($1.key.utf8.count + $1.value.utf8.count, $0.key) }
        for (name, _) in theirs where total() > sizeLimit {
            source.removeValue(forKey: name)
            dropped.append(name)
        }
        for name in ours.keys.sorted() where total() > sizeLimit && !kept.contains(name) {
            ours.removeValue(forKey: name)
            dropped.append(name)
        }
        return (source, ours, dropped)
    }

    /// The metadata for a file moved on by a stage.
    package static func make(fileId: String, dataset: String, sourceKey: String, sourceETag: String) -> [String: String] {
        [
            Self.fileId: encode(fileId), Self.dataset: encode(dataset), Self.sourceKey: encode(sourceKey),
            Self.sourceETag: encode(FileId.unquoted(sourceETag)),
        ]
    }
}
