package import JSONCodec

/// The type a record field must have.
package enum FieldType: String, Sendable, Hashable, CaseIterable {
    case string, integer, number, boolean, timestamp, date, object, array, any
}

/// How a file's records are laid out.
package enum RecordFormat: Sendable, Hashable {
    /// One JSON object per line.
    case jsonLines
    /// Comma- (or other-) separated values with a header row (RFC 4180 quoting).
    case csv(delimiter: UInt8)
    /// One JSON document whose records sit in an array at `recordsPointer` (RFC 6901); with
    /// `mergeParentFields`, the scalar fields of the objects along the way are copied into each record
    /// (as UKHSA's headline and timeseries files need).
    case jsonDocument(recordsPointer: JSONPointer, mergeParentFields: Bool)

    package var name: String {
        switch self {
        case .jsonLines: "jsonl"
        case .csv: "csv"
        case .jsonDocument: "json"
        }
    }
}

/// How a file is compressed.
package enum CompressionSetting: String, Sendable, Hashable {
    case none
    case gzip
    /// By extension (`.gz`) or by the gzip magic bytes.
    case auto
}

/// A JSON pointer (RFC 6901), such as `/data/items`.
package struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    package let tokens: [String]
    package let source: String

    package init(_ source: String) throws(SettingsError) {
        self.source = source
        if source.isEmpty {
            tokens = []
            return
        }
        guard source.hasPrefix("/") else {
            throw SettingsError(.invalid, setting: "recordsPointer", detail: "'\(source)' must start with '/' (RFC 6901)")
        }
        tokens = source.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map { token in
            var text = String(token)
            text = text.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            return text
        }
    }

    package var description: String { source }

    /// The value the pointer designates, if any.
    package func resolve(in document: JSON) -> JSON? {
        var current = document
        for token in tokens {
            switch current {
            case .object(let object):
                guard let next = object[token] else { return nil }
                current = next
            case .array(let array):
                guard let index = Int(token), array.indices.contains(index) else { return nil }
                current = array[index]
            default:
                return nil
            }
        }
        return current
    }
}

extension String {
    /// Replaces every occurrence of `target` (no Foundation).
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        return split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// A required field and its type.
package struct RequiredField: Sendable, Hashable {
    package var name: String
    package var type: FieldType
}

/// Where a dataset's records go in OpenSearch.
package struct IndexSettings: Sendable, Hashable {
    /// The index name template, for example `ukhsa-timeseries-{date:month}`.
    package var template: IndexNameTemplate
    /// The `mappings` object sent when the index is created.
    package var mappings: JSON?
    /// The `settings` object sent when the index is created.
    package var settings: JSON?
}

/// One dataset: which files belong to it and how to read, validate and index them.
package struct DatasetDefinition: Sendable, Hashable {
    package var name: String
    package var keyPattern: KeyPattern
    package var format: RecordFormat
    package var compression: CompressionSetting
    /// Allowed file name endings (`.jsonl`, `.jsonl.gz`); empty allows any.
    package var extensions: [String]
    /// Files larger than this are rejected.
    package var maxFileSizeBytes: Int64
    package var requiredFields: [RequiredField]
    /// Column types for CSV (text cells are converted) and checks for other formats.
    package var fieldTypes: [String: FieldType]
    /// The fields whose values make a record's `_id`; empty means ids from file and position.
    package var idFields: [String]
    package var index: IndexSettings?
    /// The star-schema specification that processes this dataset's extracts, if any.
    package var starSchema: String?
    /// How many records the dropbox handler samples from the start of a file.
    package var sampleRecords: Int
    /// Files up to this size are validated in full by the dropbox handler (0: sample only).
    package var fullValidationMaxBytes: Int64
    /// Above this share of failed records, the whole file is FAILED rather than PARTIAL.
    package var maxFailedRecordRatio: Double

    /// Whether `key`'s file name ending is allowed.
    package func allowsExtension(of key: String) -> Bool {
        extensions.isEmpty || extensions.contains { key.lowercased().hasSuffix($0.lowercased()) }
    }

    /// Whether the file is gzip-compressed, by setting and extension (`nil`: look at the magic bytes).
    package func isGzip(key: String) -> Bool? {
        switch compression {
        case .none: false
        case .gzip: true
        case .auto: key.lowercased().hasSuffix(".gz") ? true : nil
        }
    }
}
