// CSV: `CSVDecoder` with the readings rules (typed cells) or with none and `;` as the delimiter,
// fed in chunks of 1 byte to 4 KiB; the first input byte picks the chunk size and the limits (see
// Support.swift). Every row built is checked to be a JSON object, and resuming after a record
// (with the header the first read reported) must give the records after it again.
import PipelineSettings
import RecordReaders

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (settings, file) = settingsAndFile(bytes(data, size))
    let typed = settings & 0x80 == 0
    let dataset = fuzzDataset(typed ? "readings" : "loose")
    let rules = RecordRules(dataset: dataset)
    let delimiter = UInt8(ascii: typed ? "," : ";")
    var options = readerOptions(settings)
    options.smallDocumentBytes = ReaderOptions().smallDocumentBytes
    let size = chunkSize(settings)
    let make = { (start: ReadPosition, sourceOffset: Int64, options: ReaderOptions) -> any RecordDecoder in
        CSVDecoder(delimiter: delimiter, rules: rules, options: options, start: start, sourceOffset: sourceOffset)
    }
    let first = drive({ make(.start, 0, options) }, file: file, chunkSize: size)
    checkResume(
        first, pick: file.last ?? 0, file: file, chunkSize: size, rereadFromStart: false, make: make, options: options)
    return 0
}
