// JSON lines: `JSONLinesDecoder` with the orders rules (required and typed fields), fed in chunks
// of 1 byte to 4 KiB; the first input byte picks the chunk size and the limits (see Support.swift).
// Every read is checked against the readers' invariants, and resuming after a record must give
// the records after it again.
import PipelineSettings
import RecordReaders

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONLines(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (settings, file) = settingsAndFile(bytes(data, size))
    let rules = RecordRules(dataset: fuzzDataset("orders"))
    let options = readerOptions(settings)
    let size = chunkSize(settings)
    let make = { (start: ReadPosition, sourceOffset: Int64, options: ReaderOptions) -> any RecordDecoder in
        JSONLinesDecoder(rules: rules, options: options, start: start, sourceOffset: sourceOffset)
    }
    let first = drive({ make(.start, 0, options) }, file: file, chunkSize: size)
    checkResume(
        first, pick: file.last ?? 0, file: file, chunkSize: size, rereadFromStart: false, make: make, options: options)
    return 0
}
