import AWSClients
import JSONCodec

/// `bench bulk-encode`: how fast bulk NDJSON bodies are built from documents already parsed, into
/// a buffer that is then discarded, ours against a Python peer using `json.dumps`.
///
/// The documents (kept in step with `Benchmarks/python/bulk_encode_json.py`): 1,000 records of
/// eight fields (strings, a decimal, integers, a boolean, a date, a two-element array, some
/// non-ASCII text), each an `index` action with an `_index` and an `_id`.
enum BulkEncodeBench {
    static let command = BenchCommand(
        name: "bulk-encode", summary: "build _bulk NDJSON bodies from parsed documents: BulkBodyEncoder vs json.dumps", run: run
    )
    static let batch = 1000
    static let cities = ["Leeds", "York", "Hull", "Bath", "Derby"]

    static func operations() -> [BulkOperation] {
        (0..<batch).map { i in
            let document: JSON = [
                "id": .string("rec-\(i)"),
                "amount": .number(Double(i * 37 % 100_000) / 100),
                "qty": .number(i % 13),
                "city": .string(cities[i % cities.count]),
                "ts": .string("2024-05-\(10 + i % 20)T10:\(10 + i % 50):00Z"),
                "active": .bool(i % 2 == 0),
                "tags": ["ingest", .string("batch-\(i % 7)")],
                "note": .string(i % 10 == 0 ? "Zürich – café order #\(i)" : "plain order note number \(i)"),
            ]
            return .index("orders-2024", id: "rec-\(i)", document)
        }
    }

    static func run(_ options: BenchOptions) throws {
        let operations = operations()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        var bytesPerBatch = 0
        var sink = 0
        let batchesPerSecond = measureRate(seconds: options.seconds) {
            buffer.removeAll(keepingCapacity: true)
            for operation in operations { BulkBodyEncoder.append(operation, to: &buffer) }
            bytesPerBatch = buffer.count
            sink &+= Int(buffer[buffer.count / 2])
        }
        precondition(sink >= 0)
        let swiftDocs = batchesPerSecond * Double(batch)
        let swiftMB = batchesPerSecond * Double(bytesPerBatch) / 1e6

        var peer: [String: Double]? = nil
        if !options.swiftOnly {
            peer = try PythonPeer.run(
                script: "bulk_encode_json.py", in: options.scriptsDirectory, arguments: ["--seconds", "\(options.seconds)"])
        }
        print("bulk NDJSON encoding, one thread, \(batch) documents per body, \(bytesPerBatch / batch) bytes per action")
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        print(pad("side", 16) + pad("docs/s", 14) + pad("MB/s", 10) + "bytes/doc")
        print(pad("swift", 16) + pad(String(Int(swiftDocs)), 14) + pad(String(Int(swiftMB)), 10) + String(bytesPerBatch / batch))
        if let peer, let docs = peer["docs_per_second"], let mb = peer["mb_per_second"], let size = peer["bytes_per_doc"] {
            print(pad("python json", 16) + pad(String(Int(docs)), 14) + pad(String(Int(mb)), 10) + String(Int(size)))
            print("ratio (docs/s): \(Int((swiftDocs / docs).rounded()))x")
        }
    }
}
