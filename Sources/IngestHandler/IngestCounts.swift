import PipelineCore

/// A file's counts across its attempts: what the status row keeps, and what the filed copy
/// carries in its metadata (`pipeline-records`, `pipeline-indexed`, `pipeline-failed`,
/// `pipeline-skipped`, `pipeline-index-names`) so that an attempt that dies between the move and
/// the status write is recovered from the copy itself.
struct IngestCounts: Sendable, Hashable {
    var records: Int
    var indexed: Int
    var failed: Int
    var skipped: Int
    /// The indices written to, sorted.
    var indexNames: [String]

    static let recordsKey = "pipeline-records"
    static let indexedKey = "pipeline-indexed"
    static let failedKey = "pipeline-failed"
    static let skippedKey = "pipeline-skipped"
    static let indexNamesKey = "pipeline-index-names"

    init(records: Int, indexed: Int, failed: Int, skipped: Int, indexNames: [String]) {
        self.records = records
        self.indexed = indexed
        self.failed = failed
        self.skipped = skipped
        self.indexNames = Array(Set(indexNames)).sorted()
    }

    /// The counts an earlier attempt saved in the status row (`records` is where it stopped).
    init(records: Int, record: StatusRecord) {
        self.init(
            records: records, indexed: record.indexed ?? 0, failed: record.failed ?? 0, skipped: record.skipped ?? 0,
            indexNames: record.indexNames)
    }

    /// The counts a filed copy carries; `nil` when it carries none (filed with the counts saved in
    /// the status row instead) or they do not read as counts.
    init?(filedMetadata metadata: [String: String]) {
        func count(_ key: String) -> Int? { metadata[key].flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil } }
        guard let records = count(Self.recordsKey), let indexed = count(Self.indexedKey), let failed = count(Self.failedKey),
            let skipped = count(Self.skippedKey)
        else { return nil }
        // Index names cannot hold a comma (OpenSearch refuses it), so a comma separates them.
        let names = metadata[Self.indexNamesKey].map(PipelineMetadata.decode)?.split(separator: ",").map(String.init) ?? []
        self.init(records: records, indexed: indexed, failed: failed, skipped: skipped, indexNames: names)
    }

    mutating func add(_ run: IngestRunResult) {
        records += run.records
        indexed += run.indexed
        failed += run.failed
        skipped += run.blankLines
        indexNames = Array(Set(indexNames + run.indexNames)).sorted()
    }

    /// The counts as the status row's attributes.
    var dictionary: [String: Int] {
        [StatusAttribute.records: records, StatusAttribute.indexed: indexed, StatusAttribute.failed: failed, StatusAttribute.skipped: skipped]
    }

    /// The counts as user metadata of the filed copy.
    var metadata: [String: String] {
        [
            Self.recordsKey: String(records), Self.indexedKey: String(indexed), Self.failedKey: String(failed),
            Self.skippedKey: String(skipped), Self.indexNamesKey: PipelineMetadata.encode(indexNames.joined(separator: ",")),
        ]
    }
}
