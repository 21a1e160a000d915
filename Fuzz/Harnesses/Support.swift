// What every fuzz harness shares. Each harness is one file with `LLVMFuzzerTestOneInput`, built
// with this file by `scripts/fuzz.sh` (libFuzzer and AddressSanitizer).
import Dispatch
import JSONCodec
import PipelineSettings
import RecordReaders

/// Stops the run with a message when an invariant breaks; libFuzzer saves the input as a crash.
func invariant(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant broken: \(message())") }
}

/// The fuzzer's input as bytes.
func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// Splits off the harness's settings byte: the first byte chooses chunking and limits, the rest
/// is the file. An empty input gives settings 0 and an empty file.
func settingsAndFile(_ input: [UInt8]) -> (settings: UInt8, file: [UInt8]) {
    guard let first = input.first else { return (0, []) }
    return (first, Array(input.dropFirst()))
}

/// Cuts `bytes` into chunks of `size` bytes (the last shorter).
func chunks(_ bytes: [UInt8], size: Int) -> [[UInt8]] {
    var out: [[UInt8]] = []
    var start = 0
    while start < bytes.count {
        let end = min(bytes.count, start + size)
        out.append(Array(bytes[start..<end]))
        start = end
    }
    return out
}

/// A chunk size from a settings byte: 1 to 8 bytes (worst case for boundaries), or up to 4 KiB.
func chunkSize(_ settings: UInt8) -> Int {
    let low = Int(settings & 0x0F)
    return low < 8 ? low + 1 : 1 << (low - 4)
}

/// Holds an async result for `runBlocking` (written before the semaphore is signalled, read after).
final class BlockingResult<T>: @unchecked Sendable { var value: T? }

/// Runs async work from the fuzzer's thread (not a pool thread, so waiting here blocks nothing).
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let box = BlockingResult<T>()
    let done = DispatchSemaphore(value: 0)
    // Runs on this thread until its first real suspension (none, for in-memory fakes).
    Task.immediate {
        box.value = await body()
        done.signal()
    }
    done.wait()
    return box.value!
}

/// Parsing a value's compact serialisation gives the value back.
func checkJSONRoundTrip(_ value: JSON) {
    var out: [UInt8] = []
    JSONWriter.write(value, to: &out)
    let again: JSON
    do {
        again = try JSONParser.parse(out, maxDepth: 1 << 16)
    } catch {
        fatalError("invariant broken: the writer's output does not parse: \(error)")
    }
    invariant(again == value, "a JSON value does not survive writing and parsing again")
}

// MARK: - Record readers

/// The datasets the record-reader harnesses read with (the readers' test fixtures' rules).
let fuzzDatasets: DatasetCatalog = {
    let document = #"""
        {"datasets": [
          {"name": "orders", "keyPattern": "orders/{day}.jsonl", "format": {"type": "jsonl"},
           "requiredFields": {"order_id": "integer", "created_at": "timestamp"},
           "fieldTypes": {"paid": "boolean", "total": "number", "day": "date", "tags": "array", "meta": "object"},
           "idFields": ["order_id"], "index": {"name": "orders-{created_at:month}"}},
          {"name": "readings", "keyPattern": "readings/{station}.csv", "format": {"type": "csv", "delimiter": ","},
           "requiredFields": {"station": "string"},
           "fieldTypes": {"reading_at": "timestamp", "value": "number", "count": "integer", "ok": "boolean", "day": "date"},
           "idFields": ["station", "reading_at"]},
          {"name": "loose", "keyPattern": "loose/{name}.csv", "format": {"type": "csv", "delimiter": ";"}},
          {"name": "timeseries", "keyPattern": "ukhsa/{metric}.json",
           "format": {"type": "json", "recordsPointer": "/results", "mergeParentFields": true},
           "requiredFields": {"date": "date", "metric_value": "number"}, "idFields": ["metric", "date"]},
          {"name": "headline", "keyPattern": "headline/{topic}.json",
           "format": {"type": "json", "recordsPointer": "/data/headlines", "mergeParentFields": true},
           "fieldTypes": {"metric": "string"}},
          {"name": "root", "keyPattern": "root/{name}.json",
           "format": {"type": "json", "recordsPointer": "/root", "mergeParentFields": false}}
        ]}
        """#
    do {
        return try DatasetCatalog.parse(Array(document.utf8))
    } catch {
        fatalError("the harness's dataset catalog does not parse: \(error)")
    }
}()

func fuzzDataset(_ name: String) -> DatasetDefinition {
    guard var dataset = fuzzDatasets.dataset(named: name) else { fatalError("no dataset \(name)") }
    if name == "root" {
        // A catalog cannot name the root (its pointer must not be empty); the reader can read it.
        do {
            dataset.format = .jsonDocument(recordsPointer: try JSONPointer(""), mergeParentFields: false)
        } catch {
            fatalError("the root pointer: \(error)")
        }
    }
    return dataset
}

/// Options from the settings byte's high bits: small record and depth limits (to reach the
/// long-line and too-deep paths with small inputs) and the sample (prefix) mode.
func readerOptions(_ settings: UInt8) -> ReaderOptions {
    var options = ReaderOptions()
    if settings & 0x10 != 0 { options.maxRecordBytes = 64 }
    if settings & 0x20 != 0 { options.maxDepth = 4 }
    if settings & 0x40 != 0 { options.inputIsPrefix = true }
    if settings & 0x80 != 0 { options.smallDocumentBytes = 0 }
    return options
}

/// What one read of a file gave.
struct ReadOutcome {
    var items: [RecordItem] = []
    var fileError: RecordFileError?
    var summary: ReaderSummary?
    var csvHeader: [String]?

    /// Offsets and outcome codes, to compare two reads.
    var transcript: [String] {
        items.map { item in
            "\(item.number) \(item.startOffset)-\(item.endOffset) \(item.error?.code.rawValue ?? String(decoding: item.record!.document, as: UTF8.self))"
        }
    }
}

/// Feeds `file` (from `sourceOffset` on) to a decoder in chunks and checks what every reader
/// promises: items numbered in order from `start`, offsets inside the stream and never going
/// back, every record a JSON object, failed records' text within `RecordItem.rawLimit`, and
/// every byte accounted for.
func drive(
    _ make: () -> any RecordDecoder, file: [UInt8], chunkSize: Int, start: ReadPosition = .start,
    sourceOffset: Int64 = 0
) -> ReadOutcome {
    var decoder = make()
    let fed = Array(file[Int(sourceOffset)...])
    var pending = chunks(fed, size: chunkSize)[...]
    var outcome = ReadOutcome()
    var expectedNumber = start.recordNumber
    var lastEnd: Int64 = -1
    var steps = 0
    loop: while true {
        steps += 1
        invariant(steps < 4 * (file.count + pending.count + 16), "the decoder makes no progress")
        let step: DecodeStep
        do {
            step = try decoder.next()
        } catch {
            outcome.fileError = error
            break loop
        }
        switch step {
        case .needInput:
            if let chunk = pending.popFirst() { decoder.feed(chunk) } else { decoder.finish() }
        case .end:
            break loop
        case .item(let item):
            invariant(item.number == expectedNumber, "record number \(item.number), expected \(expectedNumber)")
            expectedNumber += 1
            invariant(item.startOffset >= 0 && item.startOffset <= item.endOffset, "offsets \(item.startOffset)-\(item.endOffset)")
            invariant(item.endOffset <= Int64(file.count), "end offset \(item.endOffset) past the file's \(file.count) bytes")
            invariant(item.startOffset >= lastEnd, "start \(item.startOffset) before the previous end \(lastEnd)")
            lastEnd = item.endOffset
            switch item.outcome {
            case .record(let record):
                do {
                    let value = try JSONParser.parse(record.document, maxDepth: 1 << 16)
                    guard case .object = value else { fatalError("invariant broken: a record is not an object") }
                } catch {
                    fatalError("invariant broken: a record is not valid JSON: \(error)")
                }
                for (slot, value) in record.fields.values.enumerated() {
                    guard let value else { continue }
                    invariant(!value.raw.isEmpty, "field \(record.fields.selection.names[slot]) has empty JSON text")
                    _ = value.text
                }
            case .failure(let error, let raw, _):
                invariant(raw.count <= RecordItem.rawLimit, "failed record text of \(raw.count) bytes")
                invariant(!error.reason.isEmpty, "a record error without a reason")
            }
            outcome.items.append(item)
            invariant(outcome.items.count <= file.count + 1, "more records than bytes")
        }
    }
    outcome.summary = decoder.summary
    if outcome.fileError == nil {
        invariant(decoder.summary.bytesRead == Int64(fed.count), "read \(decoder.summary.bytesRead) of \(fed.count) bytes")
    }
    invariant(decoder.summary.records == outcome.items.count, "summary counts \(decoder.summary.records) records")
    if let csv = decoder as? CSVDecoder { outcome.csvHeader = csv.header }
    return outcome
}

/// Resuming after any record gives the same records after it as the first read did.
func checkResume(
    _ first: ReadOutcome, pick: UInt8, file: [UInt8], chunkSize: Int, rereadFromStart: Bool,
    make: (ReadPosition, Int64, ReaderOptions) -> any RecordDecoder, options: ReaderOptions
) {
    guard first.fileError == nil, !first.items.isEmpty else { return }
    let index = Int(pick) % first.items.count
    let resume = first.items[index].next
    var options = options
    options.csvHeader = first.csvHeader
    let sourceOffset = rereadFromStart ? 0 : resume.byteOffset
    let second = drive({ make(resume, sourceOffset, options) }, file: file, chunkSize: chunkSize, start: resume, sourceOffset: sourceOffset)
    let expected = Array(first.transcript[(index + 1)...])
    invariant(
        second.fileError == nil && second.transcript == expected,
        "resuming at \(resume) gave \(second.transcript) \(second.fileError.map { "\($0)" } ?? ""), expected \(expected)")
}
