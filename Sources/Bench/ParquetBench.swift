import Foundation
import Parquet
import Primitives

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `bench parquet`: JSON lines to Parquet with Snappy, ours against pyarrow, one thread each.
///
/// Generates a seeded extract of sales-order lines (`BENCH_PARQUET_MB`, default 220 MB of JSON
/// lines) into a temporary file, then converts it twice, each side in its own process so peak RSS
/// is its own: this binary (re-run with `BENCH_PARQUET_CHILD` set) streaming the file in 1 MiB
/// chunks through `JSONLinesConverter`, and `Benchmarks/python/parquet_pyarrow.py`
/// (`pyarrow.json.read_json` + `pyarrow.parquet.write_table`, one CPU, same schema). Finally pyarrow
/// reads our file back and compares it with its own, table to table.
enum ParquetBench {
    static let command = BenchCommand(
        name: "parquet", summary: "JSON lines to Parquet (Snappy): Parquet module vs pyarrow", run: run
    )

    /// The extract's schema; `parquet_pyarrow.py` declares the same one.
    static let schema = try! ParquetSchema([
        ParquetColumn("order_id", .int64, nullable: false),
        ParquetColumn("line_no", .int32, nullable: false),
        ParquetColumn("customer_id", .int64),
        ParquetColumn("order_ts", .timestampMillis),
        ParquetColumn("ship_date", .date),
        ParquetColumn("sku", .string),
        ParquetColumn("product", .string),
        ParquetColumn("quantity", .int32),
        ParquetColumn("unit_price", .decimal(precision: 12, scale: 2)),
        ParquetColumn("discount", .decimal(precision: 5, scale: 4)),
        ParquetColumn("amount", .decimal(precision: 18, scale: 2)),
        ParquetColumn("currency", .string),
        ParquetColumn("tax_rate", .double),
        ParquetColumn("gift", .boolean),
        ParquetColumn("channel", .string),
        ParquetColumn("country", .string),
        ParquetColumn("note", .string),
    ])

    static func run(_ options: BenchOptions) throws {
        let environment = ProcessInfo.processInfo.environment
        if let child = environment["BENCH_PARQUET_CHILD"] {
            try convert(spec: child)
            return
        }
        let megabytes = Int(environment["BENCH_PARQUET_MB"] ?? "") ?? 220
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-parquet")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let input = directory.appendingPathComponent("orders-\(megabytes)mb.jsonl")
        let ours = directory.appendingPathComponent("ours.parquet")
        let theirs = directory.appendingPathComponent("pyarrow.parquet")
        let generated = try generate(megabytes: megabytes, to: input.path)
        print("extract: \(input.path), \(generated.bytes / 1_000_000) MB, \(generated.lines) lines (seeded)")

        let own = try runChild(input: input.path, output: ours.path)
        var peer: [String: Double]? = nil
        if !options.swiftOnly {
            peer = try PythonPeer.run(
                script: "parquet_pyarrow.py", in: options.scriptsDirectory,
                arguments: [input.path, theirs.path, "--verify", ours.path])
        }
        print("JSON lines -> Parquet (Snappy), one thread, \(generated.bytes / 1_000_000) MB input")
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        func fixed(_ value: Double) -> String { String(Int(value.rounded())) }
        print(
            pad("side", 10) + pad("seconds", 10) + pad("input MB/s", 12) + pad("MB/CPU-s", 10) + pad("peak RSS MB", 13)
                + pad("rows", 10) + "file MB")
        for (name, figures) in [("swift", own), ("pyarrow", peer)] {
            guard let figures else { continue }
            let seconds = figures["seconds"] ?? 0
            print(
                pad(name, 10) + pad(String(format: "%.2f", seconds), 10)
                    + pad(fixed(Double(generated.bytes) / 1e6 / seconds), 12)
                    + pad(fixed(Double(generated.bytes) / 1e6 / (figures["cpu_seconds"] ?? seconds)), 10)
                    + pad(fixed(figures["peak_rss_mb"] ?? 0), 13)
                    + pad(fixed(figures["rows"] ?? 0), 10) + String(format: "%.1f", (figures["file_bytes"] ?? 0) / 1e6))
        }
        if let peer {
            let same = peer["verified_equal"] == 1 ? "yes" : "NO"
            print("pyarrow reads our file with \(Int(peer["verified_rows"] ?? 0)) rows; tables equal: \(same)")
        }
    }

    /// Runs this binary again as the converting child and returns its figures.
    static func runChild(input: String, output: String) throws -> [String: Double] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["parquet"]
        var environment = ProcessInfo.processInfo.environment
        environment["BENCH_PARQUET_CHILD"] = "\(input)\n\(output)"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let figures = try JSONSerialization.jsonObject(with: data) as? [String: Double]
        else {
            throw BenchError("the converting child failed: \(String(decoding: data, as: UTF8.self))")
        }
        return figures
    }

    /// The child: converts `input` to `output` and prints its figures as JSON.
    static func convert(spec: String) throws {
        let parts = spec.split(separator: "\n").map(String.init)
        guard parts.count == 2 else { throw BenchError("BENCH_PARQUET_CHILD must be INPUT\\nOUTPUT") }
        let clock = ContinuousClock()
        let start = clock.now
        let inputFD = open(parts[0], O_RDONLY)
        guard inputFD >= 0 else { throw BenchError("cannot open \(parts[0])") }
        defer { close(inputFD) }
        var sink = try FileSink(path: parts[1])
        var converter = JSONLinesConverter(schema: schema)
        let chunkSize = 1 << 20
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { chunk.deallocate() }
        var inputBytes = 0
        while true {
            let count = read(inputFD, chunk.baseAddress, chunkSize)
            guard count >= 0 else { throw BenchError("read failed: errno \(errno)") }
            if count == 0 { break }
            inputBytes += count
            try converter.consume(UnsafeRawBufferPointer(rebasing: chunk[0..<count]), to: &sink)
        }
        let summary = try converter.finish(to: &sink)
        try sink.close()
        let elapsed = start.duration(to: clock.now)
        let seconds = elapsed.seconds
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let figures: [String: Double] = [
            "seconds": seconds, "rows": Double(summary.rows), "peak_rss_mb": Double(usage.ru_maxrss) / 1024,
            "cpu_seconds": Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
                + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6,
            "input_bytes": Double(inputBytes), "file_bytes": Double(summary.bytes), "row_groups": Double(summary.rowGroups),
        ]
        let json = try JSONSerialization.data(withJSONObject: figures)
        FileHandle.standardOutput.write(json)
    }

    /// A sink straight onto a file descriptor.
    struct FileSink: ParquetSink {
        let fd: Int32
        init(path: String) throws {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw BenchError("cannot create \(path)") }
        }
        mutating func write(_ bytes: [UInt8]) throws {
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
                guard written > 0 else { throw BenchError("write failed: errno \(errno)") }
                offset += written
            }
        }
        func close() throws { _ = Glibc.close(fd) }
    }

    // MARK: The extract

    static let products = [
        "Stainless steel water bottle 750 ml", "Organic cotton T-shirt, navy, M", "USB-C charging cable 2 m",
        "Espresso beans – single origin, 1 kg", "Noise-cancelling headphones", "Bamboo cutting board",
        "Trail running shoes, size 42", "Crème brûlée torch", "LED desk lamp with dimmer", "Yoga mat 6 mm",
        "Wireless mouse", "Cast-iron skillet 28 cm", "Children's picture book \"The Lighthouse\"",
        "Ceramic mug set (4)", "Smoke detector", "Garden hose 25 m",
    ]
    static let currencies = ["EUR", "EUR", "EUR", "GBP", "USD", "CHF", "SEK", "PLN"]
    static let channels = ["web", "web", "app", "store", "phone", "partner"]
    static let countries = ["DE", "FR", "NL", "GB", "IE", "ES", "IT", "SE", "PL", "CH", "AT", "BE"]
    static let words = [
        "please", "deliver", "to", "the", "back", "door", "gift", "wrap", "call", "before", "arrival", "leave",
        "with", "neighbour", "fragile", "handle", "care", "thanks", "Straße", "reçu", "urgent", "office", "hours",
    ]

    /// Writes seeded JSON lines until `megabytes` MB; reuses an existing file of the same name.
    static func generate(megabytes: Int, to path: String) throws -> (bytes: Int, lines: Int) {
        let target = megabytes * 1_000_000
        if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let size = attributes[.size] as? Int, size >= target,
            let text = try? String(contentsOfFile: path + ".lines", encoding: .utf8), let lines = Int(text)
        {
            return (size, lines)
        }
        guard let file = fopen(path, "w") else { throw BenchError("cannot create \(path)") }
        defer { fclose(file) }
        var random = SplitMix64(seed: 20_240_524)
        var line = ""
        var bytes = 0
        var lines = 0
        var orderId: Int64 = 10_000_000
        var lineNo = 0
        var millis: Int64 = 1_704_067_200_000  // 2024-01-01
        while bytes < target {
            if lineNo == 0 || random.below(3) == 0 {
                orderId += 1
                lineNo = 1
                millis += Int64(random.below(20_000))
            } else {
                lineNo += 1
            }
            let quantity = 1 + random.below(12)
            let cents = 199 + random.below(50_000)
            let discountBasis = [0, 0, 0, 500, 1000, 1500, 2500][random.below(7)]
            let amountCents = quantity * cents * (10_000 - discountBasis) / 10_000
            line.removeAll(keepingCapacity: true)
            line += "{\"order_id\":\(orderId),\"line_no\":\(lineNo)"
            line += ",\"customer_id\":" + (random.below(50) == 0 ? "null" : String(100_000 + random.below(250_000)))
            line += ",\"order_ts\":\"\(iso(millis))\""
            let shipDate = isoDate(millis / 86_400_000 + 1 + Int64(random.below(6)))
            line += ",\"ship_date\":" + (random.below(10) == 0 ? "null" : "\"\(shipDate)\"")
            line += ",\"sku\":\"SKU-\(String(100_000 + random.below(8000)))\""
            line += ",\"product\":\(jsonString(products[random.below(products.count)]))"
            line += ",\"quantity\":\(quantity)"
            line += ",\"unit_price\":\(cents / 100).\(twoDigits(cents % 100))"
            line += ",\"discount\":0.\(String(discountBasis + 10_000).dropFirst())"
            line += ",\"amount\":\(amountCents / 100).\(twoDigits(amountCents % 100))"
            line += ",\"currency\":\"\(currencies[random.below(currencies.count)])\""
            line += ",\"tax_rate\":\([0.0, 0.07, 0.19, 0.2, 0.21, 0.25, 0.055][random.below(7)])"
            line += ",\"gift\":\(random.below(8) == 0 ? "true" : "false")"
            line += ",\"channel\":\"\(channels[random.below(channels.count)])\""
            line += ",\"country\":\"\(countries[random.below(countries.count)])\""
            if random.below(3) == 0 {
                line += ",\"note\":null}\n"
            } else {
                var note = ""
                for i in 0..<(3 + random.below(14)) { note += (i == 0 ? "" : " ") + words[random.below(words.count)] }
                line += ",\"note\":\(jsonString(note))}\n"
            }
            bytes += line.utf8.count
            lines += 1
            fputs(line, file)
        }
        try String(lines).write(toFile: path + ".lines", atomically: true, encoding: .utf8)
        return (bytes, lines)
    }

    static func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : String(value) }

    static func jsonString(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func isoDate(_ days: Int64) -> String { Timestamp(secondsSinceEpoch: days * 86_400).isoDate }

    static func iso(_ millis: Int64) -> String { Timestamp(millisecondsSinceEpoch: millis).iso8601(fractionDigits: 3) }
}
