// JSON documents: `JSONDocumentDecoder` with records under `/results` (parent fields merged),
// `/data/headlines` (merged), or a root array; streamed or read whole first. The first input byte
// picks the chunk size, the limits and the mode (see Support.swift); the second, the dataset (0:
// /results, 1: /data/headlines, 2: the root array).
// Records (merged ones too) must be JSON objects, and resuming after a record (JSON documents are
// re-read from their start) must give the records after it again.
import PipelineSettings
import RecordReaders

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONDocument(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (settings, rest) = settingsAndFile(bytes(data, size))
    let (pick, file) = settingsAndFile(rest)
    let names = ["timeseries", "headline", "root"]
    let dataset = fuzzDataset(names[Int(pick) % names.count])
    guard case .jsonDocument(let pointer, let merge) = dataset.format else { fatalError("not a JSON-document dataset") }
    let rules = RecordRules(dataset: dataset)
    let options = readerOptions(settings)
    let size = chunkSize(settings)
    let make = { (start: ReadPosition, sourceOffset: Int64, options: ReaderOptions) -> any RecordDecoder in
        JSONDocumentDecoder(
            pointer: pointer.tokens, mergeParentFields: merge, rules: rules, options: options, start: start,
            sourceOffset: sourceOffset)
    }
    let first = drive({ make(.start, 0, options) }, file: file, chunkSize: size)
    checkResume(
        first, pick: file.first ?? 0, file: file, chunkSize: size, rereadFromStart: true, make: make, options: options)
    return 0
}
