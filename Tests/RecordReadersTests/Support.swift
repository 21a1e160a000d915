import Foundation
import JSONCodec
import PipelineSettings
import RecordReaders
import Testing

func fixtureBytes(_ name: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
    return Array(try Data(contentsOf: url))
}

func dataset(_ name: String) throws -> DatasetDefinition {
    let catalog = try DatasetCatalog.parse(try fixtureBytes("datasets.json"))
    return try #require(catalog.dataset(named: name))
}

/// The "elements" dataset with its records in a root array (pointer "").
func rootArrayDataset() throws -> DatasetDefinition {
    DatasetDefinitionWithPointer.make(try dataset("elements"), pointer: "")
}

/// Everything a stream yielded: the items, its summary, and the whole-file error it ended with.
struct ReadResult {
    var items: [RecordItem]
    var summary: ReaderSummary
    var fileError: RecordFileError?
    var csvHeader: [String]?

    var records: [Record] { items.compactMap(\.record) }
    var errors: [RecordError] { items.compactMap(\.error) }
    var documents: [String] { records.map(\.text) }
    var codes: [RecordError.Code] { errors.map(\.code) }
    /// One line per item: number, offsets, and the document or the error code.
    var transcript: [String] {
        items.map { item in
            switch item.outcome {
            case .record(let record): "\(item.number) \(item.startOffset)-\(item.endOffset) \(record.text)"
            case .failure(let error, _, _):
                "\(item.number) \(item.startOffset)-\(item.endOffset) \(error.code.rawValue)"
            }
        }
    }
}

func read(
    _ bytes: [UInt8], dataset: DatasetDefinition, options: ReaderOptions = ReaderOptions(), chunkSize: Int = 64 << 10,
    start: ReadPosition = .start, sourceOffset: Int64? = nil
) async -> ReadResult {
    var stream = RecordStream(
        format: dataset.format, rules: RecordRules(dataset: dataset), options: options, start: start,
        sourceOffset: sourceOffset,
        source: InMemoryByteSource(bytes, chunkSize: chunkSize))
    var items: [RecordItem] = []
    do {
        while let item = try await stream.next() { items.append(item) }
        return ReadResult(items: items, summary: stream.summary, fileError: nil, csvHeader: stream.csvHeader)
    } catch {
        return ReadResult(items: items, summary: stream.summary, fileError: error, csvHeader: stream.csvHeader)
    }
}

/// Reads with several chunk sizes (1 byte, a prime, the default) and checks they agree exactly.
func readEveryWay(
    _ bytes: [UInt8], dataset: DatasetDefinition, options: ReaderOptions = ReaderOptions()
) async throws -> ReadResult {
    let whole = await read(bytes, dataset: dataset, options: options)
    for size in [1, 7, 4096] {
        let chunked = await read(bytes, dataset: dataset, options: options, chunkSize: size)
        #expect(chunked.transcript == whole.transcript, "chunks of \(size) bytes")
        #expect(chunked.fileError?.code == whole.fileError?.code, "chunks of \(size) bytes")
        #expect(chunked.summary.blankLines == whole.summary.blankLines)
    }
    return whole
}

/// Re-reads from every item's start offset (with a source that starts there and with one that
/// starts at 0) and checks the same records come back from there.
func checkResumeFromEveryRecord(
    _ bytes: [UInt8], dataset: DatasetDefinition, whole: ReadResult, rangedSource: Bool = true
) async {
    for (index, item) in whole.items.enumerated() {
        let position = ReadPosition(byteOffset: item.startOffset, recordNumber: item.number)
        let expected = Array(whole.transcript[index...])
        var options = ReaderOptions()
        options.csvHeader = whole.csvHeader
        if rangedSource {
            let ranged = await read(
                Array(bytes[Int(item.startOffset)...]), dataset: dataset, options: options, chunkSize: 5,
                start: position)
            #expect(ranged.transcript == expected, "ranged read from \(position)")
        }
        let fromZero = await read(bytes, dataset: dataset, chunkSize: 11, start: position, sourceOffset: 0)
        #expect(fromZero.transcript == expected, "re-read from 0 to \(position)")
    }
}

/// The peak resident set of this process so far, in bytes (VmHWM).
func peakResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let digits = line.filter(\.isNumber)
        return (Int(digits) ?? 0) * 1024
    }
    return 0
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0: write "5" to clear_refs), so growth can be measured.
func resetPeakResident() {
    try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
}

func currentResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return (Int(line.filter(\.isNumber)) ?? 0) * 1024
    }
    return 0
}
