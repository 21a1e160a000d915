/// Where an ingest file lives and where it goes: `in/<dataset>/<rest>` →
/// `processed/<dataset>/<rest>` or `failed/<dataset>/<rest>`, errors in
/// `failed/<dataset>/<rest>.errors.jsonl`.
package struct IngestKeys: Sendable, Hashable {
    package static let incomingPrefix = "in/"
    package static let processedPrefix = "processed/"
    package static let failedPrefix = "failed/"
    package static let errorsSuffix = ".errors.jsonl"

    package var dataset: String
    /// The key below the dataset's prefix (the status row's `file_name`).
    package var rest: String

    /// Splits an incoming key; nil when it is not `in/<dataset>/<rest>` with both parts non-empty.
    package init?(incomingKey key: String) {
        guard key.hasPrefix(Self.incomingPrefix) else { return nil }
        let tail = key.dropFirst(Self.incomingPrefix.count)
        guard let slash = tail.firstIndex(of: "/") else { return nil }
        let dataset = tail[..<slash]
        let rest = tail[tail.index(after: slash)...]
        guard !dataset.isEmpty, !rest.isEmpty else { return nil }
        self.dataset = String(dataset)
        self.rest = String(rest)
    }

    package init(dataset: String, rest: String) {
        self.dataset = dataset
        self.rest = rest
    }

    package var incoming: String { Self.incomingPrefix + dataset + "/" + rest }
    package var processed: String { Self.processedPrefix + dataset + "/" + rest }
    package var failed: String { Self.failedPrefix + dataset + "/" + rest }
    package var errors: String { failed + Self.errorsSuffix }
}
