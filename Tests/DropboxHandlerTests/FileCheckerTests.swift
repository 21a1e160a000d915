import DropboxHandler
import Gzip
import PipelineSettings
import Testing

@Suite("File checks on a first, shorter read of a file's start")
struct FileCheckerTests {
    static func sales() throws -> DatasetDefinition {
        let catalog = try DatasetCatalog.parse(try fixture("datasets.json"))
        return try #require(catalog.datasets.first { $0.name == "sales" })
    }

    /// JSON lines whose records are each about `width` bytes long.
    static func lines(_ count: Int, width: Int = 80, broken: Int? = nil) -> [UInt8] {
        var out: [UInt8] = []
        for index in 1...count {
            let pad = String(repeating: "x", count: max(0, width - 70))
            let line = index == broken
                ? "{\"sold_at\":\"2024-05-01T10:00:00Z\",\"note\":\"\(pad)\"}\n"
                : "{\"order_id\":\(index),\"sold_at\":\"2024-05-01T10:00:00Z\",\"note\":\"\(pad)\"}\n"
            out += Array(line.utf8)
        }
        return out
    }

    @Test("A first read holding the sample records decides, the same way the whole sample does")
    func decidedWhenSampleRecordsFit() async throws {
        let dataset = try Self.sales()
        let checker = FileChecker(firstReadBytes: 1024)
        let file = Self.lines(5000)
        #expect(await checker.verdict(name: "sales/eu/a.jsonl", start: Array(file.prefix(1024)), dataset: dataset) == .decided(nil))
        let broken = Self.lines(5000, broken: 2)
        let full = await checker.checkContent(name: "sales/eu/a.jsonl", sample: Array(broken.prefix(256 << 10)), wholeFile: false, dataset: dataset)
        #expect(full?.code == .missingRequiredField)
        #expect(await checker.verdict(name: "sales/eu/a.jsonl", start: Array(broken.prefix(1024)), dataset: dataset) == .decided(full))
    }

    @Test("A first read that ends before the sample records asks for the rest of the sample")
    func needsMoreWhenRecordsAreLong() async throws {
        let dataset = try Self.sales()
        let checker = FileChecker(firstReadBytes: 1024)
        // 600-byte records: 1 KiB holds one whole record, the sample wants five.
        let file = Self.lines(50, width: 600)
        #expect(await checker.verdict(name: "sales/eu/a.jsonl", start: Array(file.prefix(1024)), dataset: dataset) == .needsMoreBytes)
        // A failure among too few records is not the verdict yet either: later records may add details.
        let broken = Self.lines(50, width: 600, broken: 1)
        #expect(await checker.verdict(name: "sales/eu/a.jsonl", start: Array(broken.prefix(1024)), dataset: dataset) == .needsMoreBytes)
        // Bytes that do not parse yet (a cut in the first record) are not a rejection yet.
        #expect(await checker.verdict(name: "sales/eu/a.jsonl", start: Array(file.prefix(100)), dataset: dataset) == .needsMoreBytes)
    }

    @Test("Gzip: the compression checks decide at once; a short compressed start decides once it inflates to the sample records")
    func gzipStart() async throws {
        let dataset = try Self.sales()
        let checker = FileChecker(firstReadBytes: 4096)
        let compressed = try Gzip.compress(Self.lines(5000))
        #expect(await checker.verdict(name: "sales/eu/a.jsonl.gz", start: Array(compressed.prefix(4096)), dataset: dataset) == .decided(nil))
        let plain = Self.lines(100)
        let mismatch = await checker.verdict(name: "sales/eu/a.jsonl.gz", start: Array(plain.prefix(4096)), dataset: dataset)
        guard case .decided(let rejection) = mismatch else { Issue.record("expected a decided mismatch"); return }
        #expect(rejection?.code == .compressionMismatch)
    }
}
