package import PipelineSettings

/// What an object key in the extracts bucket is, for the processing handler.
package enum ExtractKind: Sendable, Hashable {
    /// A table extract: `<prefix>…/<table>/<latest_row_id>-<timestamp>.jsonl`.
    case extract(Extract)
    /// `<table>/latest.json` beside the extracts: acknowledged, not processed.
    case latestMarker(table: String)
    /// Anything else (outside the prefix, no dataset with a star schema, no numeric id): the reason.
    case notAnExtract(String)
}

/// A recognised table extract.
package struct Extract: Sendable, Hashable {
    /// The dataset whose key pattern matched (it names the star schema).
    package var dataset: DatasetDefinition
    /// The source table (the pattern's `{table}` part, else the dataset's name).
    package var table: String
    /// The extract's id: the latest row id it holds (`{sequence}`, `{latest_row_id}` or `{id}`).
    package var id: Int64
    /// The `{timestamp}` part, as written.
    package var timestamp: String?
    /// The key without the extracts prefix (matched against the catalog).
    package var relativePath: String
    /// The name the status table files it under: the part of `relativePath` that matched the
    /// dataset's pattern (without the `<dataset>/` the ingest handler adds), as the dropbox and
    /// ingest stages name the same file.
    package var fileName: String
    /// The file name without its extension: the deterministic name of the fact files made from it.
    package var baseName: String
    /// The key up to and including the last `/`: where the table's other extracts are.
    package var directory: String
}

/// Recognises extracts with the dataset catalog: the key without `EXTRACTS_PREFIX` must match a
/// dataset's key pattern (directly, or after a leading `<dataset>/` that the ingest handler adds
/// when it files an indexed extract), and the dataset must name a star schema.
package struct ExtractRecognizer: Sendable {
    package let catalog: DatasetCatalog
    package let prefix: String

    package init(catalog: DatasetCatalog, prefix: String) {
        self.catalog = catalog
        self.prefix = prefix
    }

    package func classify(_ key: String) -> ExtractKind {
        guard key.hasPrefix(prefix) else { return .notAnExtract("the key is outside the extracts prefix '\(prefix)'") }
        let relative = String(key.dropFirst(prefix.count))
        let slash = relative.lastIndex(of: "/")
        let fileName = slash.map { String(relative[relative.index(after: $0)...]) } ?? relative
        if fileName == "latest.json" {
            let directory = slash.map { relative[..<$0] } ?? ""
            return .latestMarker(table: String(directory.split(separator: "/").last ?? ""))
        }
        var candidates = [relative]
        if let firstSlash = relative.firstIndex(of: "/") { candidates.append(String(relative[relative.index(after: firstSlash)...])) }
        for candidate in candidates {
            guard let (dataset, parts) = catalog.match(key: candidate) else { continue }
            guard dataset.starSchema != nil else {
                return .notAnExtract("dataset '\(dataset.name)' names no star schema")
            }
            guard let idText = parts["sequence"] ?? parts["latest_row_id"] ?? parts["id"], let id = Int64(idText) else {
                return .notAnExtract("the key of dataset '\(dataset.name)' has no numeric {sequence}, {latest_row_id} or {id} part")
            }
            let table = parts["table"] ?? dataset.name
            let baseName = fileName.split(separator: ".", maxSplits: 1).first.map(String.init) ?? fileName
            let directory = key.lastIndex(of: "/").map { String(key[...$0]) } ?? ""
            return .extract(
                Extract(
                    dataset: dataset, table: table, id: id, timestamp: parts["timestamp"], relativePath: relative,
                    fileName: candidate, baseName: baseName, directory: directory))
        }
        return .notAnExtract("no dataset's key pattern matches")
    }

    /// The id of a sibling extract's key (for the sequence check), if it is one of the same table.
    package func extractId(ofSibling key: String, table: String) -> Int64? {
        if case .extract(let extract) = classify(key), extract.table == table { return extract.id }
        return nil
    }
}
