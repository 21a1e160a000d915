import Foundation
import JSONCodec
import PipelineSettings
import Primitives
import RecordReaders

/// `bench parse`: the ingest hot path on JSON lines, ours against Python's `json`, one thread each,
/// each in its own process.
///
/// A file of realistic ~1 KB order records (`BENCH_PARSE_MB`, default 256 MB) is generated once in
/// the temporary directory, streamed (never held whole). Per record, ours: validate the line (full
/// RFC 8259 + UTF-8), extract the id, index and required fields, check their types, render the
/// index name (`orders-{created_at:month}`), make the `_id`, and append
/// `{"index":{"_index":…,"_id":…}}\n<doc>\n` to a reused buffer that is dropped every 8 MiB (a bulk
/// request's worth). The peer (`Benchmarks/python/parse_jsonl.py`) does `json.loads` per line, the
/// same checks, and `json.dumps` of the action and the document into a `bytearray`.
///
/// A third row (`swift json doc`, no peer) reads the same records as one JSON document
/// (`{"page":1,"theme":"bench","results":[…]}`, streamed, parent fields merged into each record).
/// `BENCH_PARSE_STAGE=decode|noindex` leaves steps out, for profiling.
enum ParseBench {
    static let command = BenchCommand(
        name: "parse", summary: "JSON lines to bulk actions: RecordReaders vs Python json (MB/s, records/s, peak RSS)",
        run: run
    )

    static let datasetDocument = #"""
        {"datasets": [{
          "name": "orders",
          "keyPattern": "orders/{day}.jsonl",
          "format": {"type": "jsonl"},
          "requiredFields": {"order_id": "integer", "created_at": "timestamp"},
          "fieldTypes": {"total": "number", "paid": "boolean"},
          "idFields": ["order_id"],
          "index": {"name": "orders-{created_at:month}"}
        }]}
        """#

    static func run(_ options: BenchOptions) throws {
        let megabytes = Int(ProcessInfo.processInfo.environment["BENCH_PARSE_MB"] ?? "") ?? 256
        let path = NSTemporaryDirectory() + "bench-parse-v2-\(megabytes)MB.jsonl"
        let (bytes, records) = try generate(path: path, megabytes: megabytes)
        print("input: \(path), \(bytes >> 20) MiB, \(records) records (~\(bytes / Int64(records)) bytes each)")

        let ours = try measureOurs(path: path)
        var rows: [(name: String, seconds: Double, cpu: Double, bytes: Double, records: Double, rss: Int)] = [
            ("swift", ours.seconds, ours.cpuSeconds, Double(bytes), Double(ours.records), ours.peakRSS)
        ]
        let document = try measureOursAsDocument(path: path)
        rows.append(
            (
                "swift json doc", document.seconds, document.cpuSeconds, Double(bytes), Double(document.records),
                document.peakRSS
            ))
        if !options.swiftOnly {
            let peer = try PythonPeer.run(script: "parse_jsonl.py", in: options.scriptsDirectory, arguments: [path])
            rows.append(
                (
                    "python json", peer["seconds"] ?? 0, peer["cpu_seconds"] ?? 0, peer["bytes"] ?? 0,
                    peer["records"] ?? 0,
                    Int(peer["peak_rss"] ?? 0)
                ))
        }
        print(
            "JSON lines → bulk actions, one thread, whole file once (MB = 10^6 bytes; per wall second and per CPU second)"
        )
        func pad(_ text: String, _ width: Int) -> String {
            text + String(repeating: " ", count: max(0, width - text.count))
        }
        print(
            pad("side", 16) + pad("wall s", 8) + pad("cpu s", 8) + pad("MB/s", 7) + pad("MB/cpu-s", 10)
                + pad("records/s", 11) + pad("records/cpu-s", 15) + "peak RSS")
        for row in rows {
            print(
                pad(row.name, 16) + pad(String(format: "%.2f", row.seconds), 8)
                    + pad(String(format: "%.2f", row.cpu), 8)
                    + pad(String(format: "%.0f", row.bytes / 1e6 / row.seconds), 7)
                    + pad(String(format: "%.0f", row.bytes / 1e6 / row.cpu), 10)
                    + pad(String(format: "%.0f", row.records / row.seconds), 11)
                    + pad(String(format: "%.0f", row.records / row.cpu), 15)
                    + "\(row.rss >> 20) MiB")
        }
        if let peer = rows.first(where: { $0.name == "python json" }) {
            print(
                String(
                    format: "JSON lines, ours vs python, per CPU second: %.1fx",
                    (rows[0].bytes / rows[0].cpu) / (peer.bytes / peer.cpu)))
        }
    }

    struct Result {
        var seconds: Double
        var cpuSeconds: Double
        var records: Int
        var peakRSS: Int
    }

    static func measureOurs(path: String) throws -> Result {
        let dataset = try DatasetCatalog.parse(Array(datasetDocument.utf8)).datasets[0]
        var decoder = JSONLinesDecoder(rules: RecordRules(dataset: dataset))
        var source = try FileByteSource(path: path, chunkSize: 1 << 20)
        return try measure(dataset: dataset, decoder: &decoder) { try source.nextChunkNow() }
    }

    /// The same records as one JSON document, `{"page":1,"theme":"bench","results":[…]}` with the
    /// parent fields merged into each record: the file's line ends become commas on the fly, and a
    /// last record closes the array.
    static func measureOursAsDocument(path: String) throws -> Result {
        var dataset = try DatasetCatalog.parse(Array(datasetDocument.utf8)).datasets[0]
        dataset.format = .jsonDocument(recordsPointer: try JSONPointer("/results"), mergeParentFields: true)
        var decoder = JSONDocumentDecoder(
            pointer: ["results"], mergeParentFields: true, rules: RecordRules(dataset: dataset))
        var source = try FileByteSource(path: path, chunkSize: 1 << 20)
        var stage = 0
        return try measure(dataset: dataset, decoder: &decoder) {
            switch stage {
            case 0:
                stage = 1
                return Array(#"{"page":1,"theme":"bench","results":["#.utf8)
            case 1:
                guard var chunk = try source.nextChunkNow() else {
                    stage = 2
                    return Array(#"{"order_id":0,"created_at":"2024-01-01T00:00:00Z"}]}"#.utf8)
                }
                for k in chunk.indices where chunk[k] == 0x0A { chunk[k] = UInt8(ascii: ",") }
                return chunk
            default:
                return nil
            }
        }
    }

    static func measure(
        dataset: DatasetDefinition, decoder: inout some RecordDecoder, nextChunk: () throws -> [UInt8]?
    ) throws -> Result {
        let rules = RecordRules(dataset: dataset)
        var namer = IndexNamer(template: dataset.index!.template, dataset: dataset.name, keyParts: [:], rules: rules)
        let ids = RecordIDMaker(
            dataset: dataset, generateIDs: false, file: FileIdentity(bucket: "b", key: "orders/x.jsonl", version: "1"))
        var out = [UInt8]()
        out.reserveCapacity(9 << 20)
        let stage = ProcessInfo.processInfo.environment["BENCH_PARSE_STAGE"] ?? "full"
        var records = 0
        var failed = 0
        var flushed = 0
        let clock = ContinuousClock()
        let start = clock.now
        let cpuStart = threadCPUSeconds()
        loop: while true {
            switch try decoder.next() {
            case .needInput:
                if let chunk = try nextChunk() { decoder.feed(chunk) } else { decoder.finish() }
            case .end:
                break loop
            case .item(let item):
                guard let record = item.record else {
                    failed += 1
                    continue
                }
                if stage == "decode" {
                    records += 1
                    continue
                }
                let index = stage == "noindex" ? "orders" : try namer.name(for: record)
                let id = try ids.id(for: record, number: item.number)
                BulkAction.appendIndex(index: index, id: id, document: record.document, to: &out)
                records += 1
                if out.count >= 8 << 20 {
                    flushed += out.count
                    out.removeAll(keepingCapacity: true)
                }
            }
        }
        let elapsed = start.duration(to: clock.now)
        let cpu = threadCPUSeconds() - cpuStart
        precondition(
            failed == 0 && (stage == "decode" || flushed + out.count > 0), "the generated records must all be valid")
        let seconds = elapsed.seconds
        return Result(seconds: seconds, cpuSeconds: cpu, records: records, peakRSS: peakResidentBytes())
    }

    /// This thread's CPU time: the machine is shared, so throughput is reported per CPU second too.
    static func threadCPUSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
    }

    static func peakResidentBytes() -> Int { (ProcessStats.highWaterMarkKiB(getpid()) ?? 0) * 1024 }

    /// Writes the input once (deterministic), streamed in 4 MiB pieces; returns its size and record count.
    static func generate(path: String, megabytes: Int) throws -> (Int64, Int) {
        let target = Int64(megabytes) << 20
        let marker = path + ".count"
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int64, size >= target,
            let text = try? String(contentsOfFile: marker, encoding: .utf8), let count = Int(text)
        {
            return (size, count)
        }
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw BenchError("cannot create \(path)") }
        defer { try? handle.close() }
        var random = SplitMix(seed: 20_240_501)
        var piece = [UInt8]()
        var written: Int64 = 0
        var count = 0
        let cities = ["Leeds", "Manchester", "Bristol", "Glasgow", "Cardiff", "Belfast", "Norwich", "York"]
        let statuses = ["placed", "paid", "packed", "shipped", "delivered", "returned"]
        let words = [
            "prompt", "delivery", "fragile", "gift", "wrap", "leave", "with", "neighbour", "café", "naïve", "–",
            "\"quoted\"",
        ]
        while written < target {
            count += 1
            let day = 1 + Int(random.next() % 28)
            let millis = random.next() % 86_400_000
            let time = Timestamp(
                millisecondsSinceEpoch: Timestamp.days(fromCivil: 2024, 1 + Int(random.next() % 12), day) * 86_400_000
                    + Int64(millis))
            var items: [JSON] = []
            for k in 0..<(2 + Int(random.next() % 3)) {
                items.append(
                    .object([
                        "sku": .string("SKU-\(100_000 + random.next() % 900_000)"),
                        "quantity": .number(Int(1 + random.next() % 5)),
                        "unit_price": .number("\(random.next() % 200).\(10 + random.next() % 90)"),
                        "line": .number(k + 1),
                        "description": .string(
                            (0..<8).map { _ in words[Int(random.next() % UInt64(words.count))] }.joined(separator: " ")),
                    ]))
            }
            let record: JSON = .object([
                "order_id": .number(Int(count)),
                "created_at": .string(time.iso8601()),
                "status": .string(statuses[Int(random.next() % UInt64(statuses.count))]),
                "channel": .string(random.next() % 2 == 0 ? "web" : "store"),
                "paid": .bool(random.next() % 4 != 0),
                "currency": .string("GBP"),
                "total": .number("\(random.next() % 2000).\(10 + random.next() % 90)"),
                "customer": .object([
                    "id": .string("C\(random.next() % 10_000_000)"),
                    "name": .string("Customer \(random.next() % 100_000)"),
                    "email": .string("user\(random.next() % 100_000)@example.com"),
                    "address": .object([
                        "line1": .string("\(1 + random.next() % 300) High Street"),
                        "city": .string(cities[Int(random.next() % UInt64(cities.count))]),
                        "postcode": .string("LS\(random.next() % 30) \(random.next() % 10)AB"),
                        "country": .string("GB"),
                    ]),
                ]),
                "items": .array(items),
                "tags": .array((0..<3).map { _ in .string(words[Int(random.next() % UInt64(words.count))]) }),
                "notes": .string(
                    (0..<24).map { _ in words[Int(random.next() % UInt64(words.count))] }.joined(separator: " ")),
                "discount": random.next() % 3 == 0 ? .null : .number("0.\(random.next() % 100)"),
            ])
            JSONWriter.write(record, to: &piece)
            piece.append(0x0A)
            if piece.count >= 4 << 20 {
                handle.write(Data(piece))
                written += Int64(piece.count)
                piece.removeAll(keepingCapacity: true)
            }
        }
        handle.write(Data(piece))
        written += Int64(piece.count)
        try "\(count)".write(toFile: marker, atomically: true, encoding: .utf8)
        return (written, count)
    }
}

/// A small deterministic generator (SplitMix64), so every run benchmarks the same file.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
