import Foundation
import PipelineSettings
import RecordReaders
import Testing

/// Huge lines are generated at test time in a temporary directory, written in chunks, and read
/// back through `FileByteSource`; the process's peak resident memory must not grow with them.
@Suite("Hostile files", .serialized)
struct HostileFileTests {
    /// Writes `{"order_id": 1, "created_at": "…", "pad": "xxxx…"}` padded to `lineBytes`, between
    /// two normal lines, without holding the big line in memory.
    static func writeFile(lineBytes: Int, newlineInside: Bool = false) throws -> String {
        let path = NSTemporaryDirectory() + "records-hostile-\(UUID().uuidString).jsonl"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        handle.write(Data(#"{"order_id": 1, "created_at": "2024-01-01T00:00:00Z"}"#.utf8 + [0x0A]))
        let head = Array(#"{"order_id": 2, "created_at": "2024-01-01T00:00:00Z", "pad": ""#.utf8)
        handle.write(Data(head))
        let padding = lineBytes - head.count - 2
        let block = Data(repeating: UInt8(ascii: "x"), count: 1 << 20)
        var written = 0
        while written < padding {
            let n = min(block.count, padding - written)
            handle.write(block.prefix(n))
            written += n
        }
        handle.write(Data("\"}\n".utf8))
        handle.write(Data(#"{"order_id": 3, "created_at": "2024-01-01T00:00:00Z"}"#.utf8 + [0x0A]))
        return path
    }

    func readFile(_ path: String, options: ReaderOptions) async throws -> ReadResult {
        let orders = try dataset("orders")
        var stream = RecordStream(
            format: orders.format, rules: RecordRules(dataset: orders), options: options,
            source: try FileByteSource(path: path, chunkSize: 256 << 10))
        var items: [RecordItem] = []
        while let item = try await stream.next() { items.append(item) }
        return ReadResult(items: items, summary: stream.summary, fileError: nil)
    }

    @Test("A 100 MB line stops at the line limit with lineTooLong and resyncs at the next newline, in bounded memory")
    func hundredMegabyteLineBoundedMemory() async throws {
        let path = try Self.writeFile(lineBytes: 100 << 20)
        defer { try? FileManager.default.removeItem(atPath: path) }
        resetPeakResident()
        let before = max(peakResidentBytes(), currentResidentBytes())
        let result = try await readFile(path, options: ReaderOptions())
        let growth = peakResidentBytes() - before
        #expect(result.items.map { $0.error?.code.rawValue ?? "ok" } == ["ok", "LineTooLong", "ok"])
        #expect(result.items[1].endOffset - result.items[1].startOffset == Int64(100 << 20) + 1)
        #expect(result.items[2].number == 3)
        #expect(result.errors[0].reason.contains("longer than \(4 << 20) bytes"))
        if case .failure(_, let raw, let truncated) = result.items[1].outcome {
            #expect(raw.count == RecordItem.rawLimit)
            #expect(truncated)
        }
        // The line is never held: growth stays near the 4 MiB limit plus a chunk, far below 100 MB.
        #expect(growth < 24 << 20, "peak resident memory grew by \(growth >> 20) MiB")
    }

    @Test("A 10 MB line: too long by default, a record when the limit allows it; memory follows the limit")
    func tenMegabyteLineBoundedMemory() async throws {
        let path = try Self.writeFile(lineBytes: 10 << 20)
        defer { try? FileManager.default.removeItem(atPath: path) }
        resetPeakResident()
        var before = max(peakResidentBytes(), currentResidentBytes())
        let limited = try await readFile(path, options: ReaderOptions())
        #expect(limited.codes == [.lineTooLong])
        #expect(peakResidentBytes() - before < 24 << 20)

        var options = ReaderOptions()
        options.maxRecordBytes = 16 << 20
        resetPeakResident()
        before = max(peakResidentBytes(), currentResidentBytes())
        let allowed = try await readFile(path, options: options)
        #expect(allowed.errors.isEmpty)
        #expect(allowed.records.count == 3)
        #expect(allowed.records[1].document.count == 10 << 20)
        #expect(allowed.records[1].fields["order_id"]?.text == "2")
        let growth = peakResidentBytes() - before
        #expect(growth < 64 << 20, "peak resident memory grew by \(growth >> 20) MiB")
    }

    @Test("A 100 MB single-line JSON document element is recordTooLong, skipped without being held")
    func hugeDocumentElementBoundedMemory() async throws {
        let path = NSTemporaryDirectory() + "records-hostile-\(UUID().uuidString).json"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        handle.write(Data(#"{"page": 1, "results": [{"metric": "a"}, {"metric": "b", "pad": ""#.utf8))
        let block = Data(repeating: UInt8(ascii: "y"), count: 1 << 20)
        for _ in 0..<100 { handle.write(block) }
        handle.write(Data(#""}, {"metric": "c"}]}"#.utf8))
        try handle.close()
        defer { try? FileManager.default.removeItem(atPath: path) }

        let elements = DatasetDefinitionWithPointer.make(try dataset("elements"), pointer: "/results")
        resetPeakResident()
        let before = max(peakResidentBytes(), currentResidentBytes())
        var stream = RecordStream(
            format: elements.format, rules: RecordRules(dataset: elements), source: try FileByteSource(path: path))
        var outcome: [String] = []
        while let item = try await stream.next() { outcome.append(item.error?.code.rawValue ?? "ok") }
        #expect(outcome == ["ok", "RecordTooLong", "ok"])
        let growth = peakResidentBytes() - before
        #expect(growth < 24 << 20, "peak resident memory grew by \(growth >> 20) MiB")
    }

    @Test("A 20 MB parent field before the records is neither held nor merged; the records still are")
    func hugeParentFieldBoundedMemory() async throws {
        let path = NSTemporaryDirectory() + "records-hostile-\(UUID().uuidString).json"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        handle.write(Data(#"{"page": 7, "description": ""#.utf8))
        let block = Data(repeating: UInt8(ascii: "z"), count: 1 << 20)
        for _ in 0..<20 { handle.write(block) }
        handle.write(Data(#"", "theme": "t", "results": [{"metric": "a"}, {"metric": "b"}]}"#.utf8))
        try handle.close()
        defer { try? FileManager.default.removeItem(atPath: path) }

        var elements = try dataset("elements")
        elements.format = .jsonDocument(recordsPointer: try JSONPointer("/results"), mergeParentFields: true)
        resetPeakResident()
        let before = max(peakResidentBytes(), currentResidentBytes())
        var stream = RecordStream(
            format: elements.format, rules: RecordRules(dataset: elements), source: try FileByteSource(path: path))
        var documents: [String] = []
        while let item = try await stream.next() { documents.append(try #require(item.record).text) }
        #expect(documents == [#"{"metric": "a","page":7,"theme":"t"}"#, #"{"metric": "b","page":7,"theme":"t"}"#])
        let growth = peakResidentBytes() - before
        #expect(growth < 16 << 20, "peak resident memory grew by \(growth >> 20) MiB")
    }

    @Test("A truncated stream from the source ends with a source error after the records before it")
    func sourceFailure() async throws {
        struct Truncated: Error, CustomStringConvertible {
            var description: String { "unexpected end of gzip stream" }
        }
        let orders = try dataset("orders")
        var chunks = [Array(#"{"order_id": 1, "created_at": "2024-01-01T00:00:00Z"}"#.utf8 + [0x0A])]
        chunks.append(Array(#"{"order_id": 2, "created_"#.utf8))
        var delivered = 0
        var stream = RecordStream(
            format: orders.format, rules: RecordRules(dataset: orders),
            source: ClosureByteSource {
                defer { delivered += 1 }
                if delivered < chunks.count { return chunks[delivered] }
                throw Truncated()
            })
        let first = try await stream.next()
        #expect(first?.record != nil)
        await #expect(throws: RecordFileError.self) { _ = try await stream.next() }
        do {
            _ = try await stream.next()
        } catch {
            #expect(error.code == .source)
            #expect(error.detail.contains("unexpected end of gzip stream"))
            #expect(error.underlying is Truncated)
        }
    }
}
