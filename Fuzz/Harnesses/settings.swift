// The dataset catalog and its parts. With an even first byte, the rest is a catalog document
// (`DatasetCatalog.parse`): each dataset it accepts is matched against sample keys and given its
// record rules. With an odd first byte, the rest is three lines: a key pattern and a key to match
// with it (`KeyPattern`, also read as a `JSONPointer`), and an index-name template rendered for a
// record (`IndexNameTemplate`). Errors must name the setting at fault.
import PipelineSettings
import RecordReaders

private let sampleKeys = [
    "orders/2024-01-01.jsonl", "totesys/sales_order/123-2024-01-01T00:00:00Z.jsonl", "readings/st-01.csv.gz",
    "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p.json", String(repeating: "a/", count: 200) + "x.jsonl",
    String(repeating: "-", count: 300),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSettings(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (settings, input) = settingsAndFile(bytes(data, size))
    if settings & 1 == 0 {
        catalog(input)
    } else {
        parts(input)
    }
    return 0
}

private func catalog(_ input: [UInt8]) {
    do {
        let catalog = try DatasetCatalog.parse(input)
        for dataset in catalog.datasets {
            invariant(!dataset.name.isEmpty, "a dataset without a name")
            _ = RecordRules(dataset: dataset)
            for key in sampleKeys {
                _ = dataset.keyPattern.match(key)
                _ = (dataset.allowsExtension(of: key), dataset.isGzip(key: key))
            }
        }
        for key in sampleKeys { _ = catalog.match(key: key) }
    } catch {
        invariant(!error.setting.isEmpty, "a settings error that names no setting")
    }
}

private func parts(_ input: [UInt8]) {
    let lines = input.split(separator: 0x0A, maxSplits: 2, omittingEmptySubsequences: false)
        .map { String(decoding: $0, as: UTF8.self) }
    let pattern = lines[0]
    let key = lines.count > 1 ? lines[1] : ""
    let template = lines.count > 2 ? lines[2] : ""
    if let keyPattern = try? KeyPattern(pattern) {
        let parts = keyPattern.match(key)
        for key in sampleKeys { _ = keyPattern.match(key) }
        if let index = try? IndexNameTemplate(template) {
            let rendered = try? index.render(dataset: "fuzz", keyParts: parts ?? [:]) { name in
                name.count % 2 == 0 ? key : "2024-05-0\(name.count % 9 + 1)T12:00:00Z"
            }
            if let rendered { invariant(IndexNameTemplate.normalise(rendered) == rendered, "'\(rendered)' is not a valid name") }
        }
    }
    _ = try? IndexNameTemplate(pattern)
    if let pointer = try? JSONPointer(pattern) { _ = pointer.tokens }
}
