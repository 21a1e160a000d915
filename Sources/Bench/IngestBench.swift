import AWSClients
import AWSCore
import AWSSigV4
import Foundation
import HTTPTransport
import IngestHandler
import JSONCodec
import OpenSearchStandIn
import PipelineCore
import PipelineSettings
import Primitives
import RecordReaders

/// `bench ingest`: a JSON-lines file from S3 (moto) into OpenSearch (the stand-in, in this
/// process), the real `ingest-lambda` binary (run with `--event`, as its own process) against
/// `Benchmarks/python/ingest_boto3.py` (boto3 streaming, `json`, bulk requests of the same size,
/// then the same filing: the object copied under processed/ and deleted, a status item written):
/// records/s, MB/s of input, CPU seconds per GB and peak RSS of each process (the handler's
/// `VmHWM`), and each run split at the last bulk answer (reading and indexing, then filing). Then
/// the parse-and-encode rate alone: `IngestEngine` with a discarding sink on one thread, against
/// the same script reading a local file and discarding its bodies.
///
/// Sizes: `BENCH_INGEST_MB` (comma list, default `8,32`); the CPU the stand-in and moto spend per
/// row is printed (they share the machine's cores with the handler). The Python peer runs on
/// each size right after the Swift run, and the ratios are printed per size.
/// `BENCH_INGEST_REPEAT` (default 1) runs each row that many times, each on a new object into
/// emptied indices, and reports the run of median time (moto's copy of a large object alone
/// varies by a factor of two from run to run).
/// `BENCH_INGEST_MEMORY_LIMIT_MB` runs the handler in a memory cgroup of that size (as Lambda
/// limits it) and prints the cgroup's peak; `BENCH_INGEST_RECORD_PAD` lengthens every record (fewer
/// documents for the stand-in to hold at 1 GB); `BENCH_INGEST_WRAPPER` runs the handler under a tool
/// (`heaptrack -o FILE`); `GLIBC_TUNABLES` and `MALLOC_*` are passed on to it;
/// `BENCH_INGEST_BINARY` names the handler binary (see `handlerBinary`).
enum IngestBench {
    static let command = BenchCommand(
        name: "ingest", summary: "JSON lines from S3 into OpenSearch: ingest-lambda vs a boto3 handler; parse+encode alone", run: run
    )

    struct Measurement {
        var seconds: Double
        var records: Int
        var bytes: Int
        var cpuSeconds: Double
        var maxRSSKiB: Int
        /// The memory cgroup's peak usage (RSS, page cache and kernel memory), when run in one.
        var cgroupPeakKiB: Int?
        /// From the start to the last bulk answer: the file read and indexed, before it is filed
        /// under processed/ and its status written.
        var indexSeconds: Double?
    }

    static let datasets = """
        {"datasets": [{"name": "events", "keyPattern": "events/*.jsonl", "format": {"type": "jsonl"}, "compression": "none",
          "requiredFields": {"event_id": "integer"}, "idFields": ["event_id"], "index": {"name": "bench-{created_at:month}"}}]}
        """

    /// About 200-byte records, eight fields; `padding` more characters in each record's note. Kept
    /// in the temporary directory, so profiles of a row see the row and not the generator.
    static func generate(megabytes: Int, padding: Int = 0) -> [UInt8] {
        let path = NSTemporaryDirectory() + "bench-ingest-v1-\(megabytes)MB-pad\(padding).jsonl"
        if let cached = FileManager.default.contents(atPath: path), cached.count >= megabytes << 20 { return [UInt8](cached) }
        let data = makeRecords(megabytes: megabytes, padding: padding)
        _ = FileManager.default.createFile(atPath: path, contents: Data(data))
        return data
    }

    static func makeRecords(megabytes: Int, padding: Int) -> [UInt8] {
        let target = megabytes << 20
        var out: [UInt8] = []
        out.reserveCapacity(target + 512)
        var i = 0
        let cities = ["Leeds", "York", "Hull", "Bath", "Derby"]
        let pad = String(repeating: "p", count: padding)
        while out.count < target {
            let line =
                #"{"event_id":\#(i),"created_at":"2024-05-\#(10 + i % 20)T10:\#(10 + i % 50):00Z","city":"\#(cities[i % 5])","#
                + #""amount":\#(i * 37 % 100_000).\#(i % 100),"active":\#(i % 2 == 0),"tags":["ingest","batch-\#(i % 7)"],"#
                + #""note":"plain order note number \#(i) with some padding text\#(pad)"}"# + "\n"
            out.append(contentsOf: line.utf8)
            i += 1
        }
        return out
    }

    static func run(_ options: BenchOptions) throws {
        if ProcessInfo.processInfo.environment["BENCH_INGEST_ONLY"] == "parse" { return try runParseOnly() }
        let sizes = (ProcessInfo.processInfo.environment["BENCH_INGEST_MB"] ?? "8,32").split(separator: ",").compactMap { Int($0) }
        guard !sizes.isEmpty else { throw BenchError("BENCH_INGEST_MB needs sizes in MB") }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("bench-ingest-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let datasetsPath = work.appendingPathComponent("datasets.json").path
        try Data(datasets.utf8).write(to: URL(fileURLWithPath: datasetsPath))

        let moto = try MotoProcess.start(scripts: options.scriptsDirectory)
        defer { moto.stop() }
        let standIn = try OpenSearchStandIn(
            OpenSearchStandInConfiguration(region: "us-east-1", accessKeyId: "bench", secretAccessKey: "bench", verifiesSignatures: true))
        defer { standIn.stop() }
        let bucket = "bench-ingest"
        let table = "bench-status"
        let environment = [
            "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": moto.endpoint, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_EC2_METADATA_DISABLED": "true", "INGEST_BUCKET_NAME": bucket, "INGEST_STATUS_TABLE": table,
            "OPEN_SEARCH_ENDPOINT": standIn.endpoint, "DATASETS_FILE": datasetsPath, "AWS_LAMBDA_LOG_LEVEL": "WARN", "PATH": "/usr/bin:/bin",
        ].merging(passedThrough()) { $1 }
        let s3 = try S3DownloadBench.makeClient(endpoint: moto.endpoint)
        try S3DownloadBench.blocking {
            try await s3.createBucket(bucket)
            let settings = try AWSSettings(environment: Environment(environment))
            let clients = try PipelineClients.make(
                settings: settings, credentials: StaticCredentialProvider(AWSCredentials(accessKeyId: "bench", secretAccessKey: "bench")),
                transport: s3.client.transport)
            try await StatusStore.createTable(clients.dynamoDB, table: table)
        }
        let openSearch = OpenSearchClient(
            endpoint: try ServiceEndpoint(parsing: standIn.endpoint), region: "us-east-1",
            credentials: StaticCredentialProvider(AWSCredentials(accessKeyId: "bench", secretAccessKey: "bench")), transport: s3.client.transport)

        var rows: [(String, Measurement)] = []
        var expected = 0
        var serverCPU: [(standIn: Double, moto: Double)] = []
        var spreads: [String] = []
        let padding = Int(ProcessInfo.processInfo.environment["BENCH_INGEST_RECORD_PAD"] ?? "") ?? 0
        let repeats = max(1, Int(ProcessInfo.processInfo.environment["BENCH_INGEST_REPEAT"] ?? "") ?? 1)
        let cgroup = try Int(ProcessInfo.processInfo.environment["BENCH_INGEST_MEMORY_LIMIT_MB"] ?? "").map {
            try MemoryCgroup(name: "bench-ingest-\(getpid())", limitBytes: $0 << 20)
        }
        defer { cgroup?.remove() }
        for size in sizes {
            let data = generate(megabytes: size, padding: padding)
            let records = data.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            var swiftRuns: [(Measurement, (standIn: Double, moto: Double))] = []
            var peerRuns: [(Measurement, (standIn: Double, moto: Double))] = []
            for run in 0..<repeats {
                // Each run: its own object (a new file to the status table), against servers
                // holding the same as before every other run: no documents, no filed copies.
                let key = "in/events/bench-\(size)-\(run).jsonl"
                print("uploading \(size) MiB to moto…")
                let etag = try S3DownloadBench.blocking {
                    try await Self.clearEarlierRuns(openSearch, s3, bucket: bucket)
                    return try await S3MultipartUpload(client: s3, bucket: bucket, key: key).upload(HTTPBodyStream(bytes: data, chunkSize: 8 << 20)).etag ?? ""
                }
                let eventPath = work.appendingPathComponent("event-\(size)-\(run).json").path
                try Data(event(bucket: bucket, key: key, etag: etag, size: data.count)).write(to: URL(fileURLWithPath: eventPath))
                print("ingesting \(size) MiB with ingest-lambda\(cgroup.map { " in a memory cgroup limited to \($0.limitBytes >> 20) MiB" } ?? "")…")
                let servers = ServerCPU(moto: moto)
                let spawned = ContinuousClock.now
                var m = try swiftChild(eventPath: eventPath, environment: environment, cgroup: cgroup)
                let cpu = servers.elapsed()
                m.indexSeconds = standIn.stats.lastBulkAnswer.map { spawned.duration(to: $0).seconds }
                m.bytes = data.count
                m.records = records
                swiftRuns.append((m, cpu))
                let indexed = countDocuments(standIn, prefix: "bench-")
                guard indexed == records else { throw BenchError("the stand-in holds \(indexed) documents, not \(records)") }
                expected = records
                // The peer on the same file, right after (like for like, under the same load).
                guard !options.swiftOnly else { continue }
                let peerKey = "python/bench-\(size)-\(run).jsonl"
                try S3DownloadBench.blocking {
                    try await Self.clearEarlierRuns(openSearch, s3, bucket: bucket)
                    _ = try await S3MultipartUpload(client: s3, bucket: bucket, key: peerKey).upload(HTTPBodyStream(bytes: data, chunkSize: 8 << 20))
                }
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = [
                    "python3", options.scriptsDirectory + "/ingest_boto3.py", "--endpoint", moto.endpoint, "--bucket", bucket, "--key",
                    peerKey, "--opensearch", standIn.endpoint, "--index-prefix", "pybench", "--status-table", table,
                ]
                let peerServers = ServerCPU(moto: moto)
                let peer = try runPeer(process)
                peerRuns.append((peer, peerServers.elapsed()))
            }
            for (name, runs) in [("swift ingest-lambda, \(size) MiB", swiftRuns), ("python boto3 handler, \(size) MiB", peerRuns)] where !runs.isEmpty {
                // The run of median time stands for the size; every run's time is printed.
                let sorted = runs.sorted { $0.0.seconds < $1.0.seconds }
                rows.append((name, sorted[sorted.count / 2].0))
                serverCPU.append(sorted[sorted.count / 2].1)
                if runs.count > 1 { spreads.append("  \(name): " + runs.map { String(format: "%.2f", $0.0.seconds) }.joined(separator: ", ") + " s") }
            }
        }

        // Parse and encode alone, on a larger file (BENCH_INGEST_PARSE_MB, default 64).
        let parseMB = Int(ProcessInfo.processInfo.environment["BENCH_INGEST_PARSE_MB"] ?? "") ?? 64
        let data = generate(megabytes: parseMB)
        let localFile = work.appendingPathComponent("parse.jsonl").path
        try Data(data).write(to: URL(fileURLWithPath: localFile))
        let parse = try parseAndEncodeRuns(data)
        var parseRows: [(String, Measurement)] = [("swift parse+encode (median)", parse.median)]
        if !options.swiftOnly {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", options.scriptsDirectory + "/ingest_boto3.py", "--file", localFile]
            parseRows.append(("python parse+encode", try runPeer(process)))
        }

        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        func f(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
        print("\nJSON lines from S3 (moto) into OpenSearch (stand-in, SigV4 checked), 5 MiB bulk bodies; one process per row")
        print("handler: \(handlerBinary)")
        print("documents in the stand-in after each Swift run: as many as records (\(expected) for the last)")
        if let cgroup {
            print("ingest-lambda ran in a memory cgroup limited to \(cgroup.limitBytes >> 20) MiB (memory.limit_in_bytes / memory.max)")
            for (name, m) in rows { print("  \(name): cgroup peak \((m.cgroupPeakKiB ?? 0) / 1024) MiB, VmHWM \(m.maxRSSKiB / 1024) MiB") }
        }
        print(pad("case", 36) + pad("records/s", 12) + pad("MB/s", 8) + pad("seconds", 9) + pad("CPU s/GB", 10) + "peak RSS")
        for (name, m) in rows + parseRows {
            print(
                pad(name, 36) + pad(String(Int(Double(m.records) / m.seconds)), 12) + pad(f(Double(m.bytes) / 1e6 / m.seconds), 8)
                    + pad(f(m.seconds, 2), 9) + pad(f(m.cpuSeconds / (Double(m.bytes) / 1e9), 1), 10) + "\(m.maxRSSKiB / 1024) MiB")
        }
        if !spreads.isEmpty {
            print("each row is the median of \(repeats) runs (each on a new object, the servers cleared of earlier runs' documents and filed copies); every run's seconds:")
            for line in spreads { print(line) }
        }
        print("CPU seconds the servers spent on each end-to-end row (the stand-in runs in this process, moto in its own):")
        for ((name, m), cpu) in zip(rows, serverCPU) {
            print("  \(pad(name, 34)) stand-in \(f(cpu.standIn, 2)) s (\(f(100 * cpu.standIn / m.seconds, 0))% of a core), moto \(f(cpu.moto, 2)) s (\(f(100 * cpu.moto / m.seconds, 0))%)")
        }
        for size in sizes {
            guard let swift = rows.first(where: { $0.0 == "swift ingest-lambda, \(size) MiB" })?.1,
                let python = rows.first(where: { $0.0 == "python boto3 handler, \(size) MiB" })?.1
            else { continue }
            print(
                "end to end, \(size) MiB: swift/python throughput \(f(python.seconds / swift.seconds))x, CPU per GB \(f(python.cpuSeconds / swift.cpuSeconds))x less, peak memory \(f(Double(python.maxRSSKiB) / Double(swift.maxRSSKiB)))x less"
            )
            if let swiftIndex = swift.indexSeconds, let pythonIndex = python.indexSeconds {
                print(
                    "  reading and indexing (to the last bulk answer): swift \(f(swiftIndex, 2)) s, python \(f(pythonIndex, 2)) s, \(f(pythonIndex / swiftIndex))x; "
                        + "then filing under processed/ and the status item: swift \(f(swift.seconds - swiftIndex, 2)) s, python \(f(python.seconds - pythonIndex, 2)) s"
                )
            }
        }
        print("parse+encode on one core: \(parseRate(parse.median)) MB per CPU-second (median of \(parse.sorted.count) runs after a warm-up)")
        if parseRows.count == 2 {
            print("parse+encode: swift/python \(f(parseRows[1].1.seconds / parseRows[0].1.seconds))x")
        }
    }

    /// Allocator settings (`GLIBC_TUNABLES`, `MALLOC_*`) given to the bench are given to the handler too.
    static func passedThrough() -> [String: String] {
        ProcessInfo.processInfo.environment.filter { $0.key == "GLIBC_TUNABLES" || $0.key.hasPrefix("MALLOC_") }
    }

    /// `BENCH_INGEST_ONLY=parse`: the parse-and-encode row alone, without moto or the stand-in (for
    /// profiling): one warm-up run, then `BENCH_INGEST_PARSE_RUNS` (default 5) measured runs.
    static func runParseOnly() throws {
        let parseMB = Int(ProcessInfo.processInfo.environment["BENCH_INGEST_PARSE_MB"] ?? "") ?? 64
        let runs = try parseAndEncodeRuns(generate(megabytes: parseMB))
        let median = runs.median
        let best = runs.sorted[0]
        print(
            "swift engine, discarding sink: \(median.records) records, \(median.bytes >> 20) MiB, \(runs.sorted.count) runs after a warm-up: "
                + "median \(parseRate(median)) MB per CPU-second (\(String(format: "%.3f", median.cpuSeconds)) s), best \(parseRate(best)), "
                + "\(Int(Double(median.records) / median.cpuSeconds)) records per CPU-second, peak RSS \(median.maxRSSKiB / 1024) MiB")
    }

    static func parseRate(_ m: Measurement) -> String { String(format: "%.1f", Double(m.bytes) / 1e6 / m.cpuSeconds) }

    /// The engine from memory into a discarding sink: one warm-up run, then `BENCH_INGEST_PARSE_RUNS`
    /// (default 5) measured runs, sorted by CPU time; each run's rate is printed.
    static func parseAndEncodeRuns(_ data: [UInt8]) throws -> (median: Measurement, sorted: [Measurement]) {
        let runs = max(1, Int(ProcessInfo.processInfo.environment["BENCH_INGEST_PARSE_RUNS"] ?? "") ?? 5)
        _ = try S3DownloadBench.blocking { try await parseAndEncode(data) }
        var measured: [Measurement] = []
        for _ in 0..<runs { measured.append(try S3DownloadBench.blocking { try await parseAndEncode(data) }) }
        print("parse+encode, each run, MB per CPU-second: " + measured.map(parseRate).joined(separator: ", "))
        let sorted = measured.sorted { $0.cpuSeconds < $1.cpuSeconds }
        return (sorted[sorted.count / 2], sorted)
    }

    static func event(bucket: String, key: String, etag: String, size: Int) -> [UInt8] {
        let object: JSON = ["key": .string(key), "size": .number(size), "eTag": .string(FileId.unquoted(etag))]
        let notification: JSON = [
            "Records": [
                [
                    "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventName": "ObjectCreated:Put",
                    "s3": ["bucket": ["name": .string(bucket), "arn": .string("arn:aws:s3:::\(bucket)")], "object": object],
                ]
            ]
        ]
        let record: JSON = [
            "messageId": "bench-1", "receiptHandle": "r", "body": .string(notification.text), "attributes": [:], "messageAttributes": [:],
            "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ingest", "awsRegion": "us-east-1",
        ]
        return JSON.object(["Records": [record]]).bytes
    }

    /// The handler measured: `BENCH_INGEST_BINARY` (the deployed bootstrap,
    /// `out/lambdas/ingest-lambda/bootstrap` from `scripts/build-lambdas.sh`: static, so it starts
    /// without loading ~35 shared libraries), else the development build next to this binary.
    static var handlerBinary: String {
        if let path = ProcessInfo.processInfo.environment["BENCH_INGEST_BINARY"], !path.isEmpty { return path }
        return URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("ingest-lambda").path
    }

    /// Runs `ingest-lambda --event` and measures it with `wait4` (CPU and peak RSS of that child alone).
    static func swiftChild(eventPath: String, environment: [String: String], cgroup: MemoryCgroup? = nil) throws -> Measurement {
        let binary = handlerBinary
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw BenchError("no handler at \(binary): build ingest-lambda next to bench (swift build -c release --product ingest-lambda) or set BENCH_INGEST_BINARY")
        }
        var pid: pid_t = 0
        // BENCH_INGEST_WRAPPER runs the handler under a tool (`heaptrack -o /tmp/ingest`, `valgrind --tool=massif`).
        let wrapper = (ProcessInfo.processInfo.environment["BENCH_INGEST_WRAPPER"] ?? "").split(separator: " ").map(String.init)
        // In a cgroup: a shell joins it, then becomes the handler (so nothing is charged elsewhere first).
        let joining = cgroup.map { ["/bin/sh", "-c", #"echo $$ > "$0" && exec "$@""#, $0.procsPath] } ?? []
        let argv: [String] = joining + wrapper + [binary, "--event", eventPath, "--timeout", "900"]
        let envp = environment.map { "\($0.key)=\($0.value)" }
        var cArgs = argv.map { strdup($0) } + [nil]
        var cEnv = envp.map { strdup($0) } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        let start = Date()
        let spawned = posix_spawnp(&pid, argv[0], nil, nil, &cArgs, &cEnv)
        guard spawned == 0 else { throw BenchError("posix_spawn failed: \(spawned)") }
        var status: Int32 = 0
        var usage = rusage()
        // Peak RSS is the child's VmHWM, polled until it exits: wait4's ru_maxrss would carry the
        // bench's own high-water mark (see DropboxBench), and the bench holds the generated file.
        var peakKiB = 0
        while true {
            let done = wait4(pid, &status, WNOHANG, &usage)
            if done == pid { break }
            if done < 0, errno != EINTR { throw BenchError("wait4 failed: \(String(cString: strerror(errno)))") }
            if let kib = ProcessStats.highWaterMarkKiB(pid) { peakKiB = max(peakKiB, kib) }
            usleep(2000)
        }
        let seconds = Date().timeIntervalSince(start)
        let cgroupPeak = cgroup?.peakKiB()
        guard status == 0 else {
            throw BenchError("ingest-lambda exited with status \(status)\(cgroup.map { "; cgroup: \($0.events())" } ?? "")")
        }
        cgroup?.resetPeak()
        let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
        return Measurement(seconds: seconds, records: 0, bytes: 0, cpuSeconds: cpu, maxRSSKiB: peakKiB, cgroupPeakKiB: cgroupPeak)
    }

    static func runPeer(_ process: Process) throws -> Measurement {
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any], let seconds = object["seconds"] as? Double,
            let records = object["records"] as? Int, let bytes = object["bytes"] as? Int, let cpu = object["cpu_seconds"] as? Double,
            let rss = object["maxrss_kb"] as? Int
        else { throw BenchError("the Python peer failed: \(String(decoding: data, as: UTF8.self))") }
        return Measurement(
            seconds: seconds, records: records, bytes: bytes, cpuSeconds: cpu, maxRSSKiB: rss, indexSeconds: object["index_seconds"] as? Double)
    }

    /// The engine on one thread, from memory into a discarding sink.
    static func parseAndEncode(_ data: [UInt8]) async throws -> Measurement {
        let catalog = try DatasetCatalog.parse(Array(datasets.utf8))
        let dataset = catalog.datasets[0]
        let engine = IngestEngine(sink: DiscardingBulkSink(), chunkBytes: 5 << 20, concurrency: 1)
        let job = IngestJob(
            dataset: dataset, index: dataset.index!,
            ids: RecordIDMaker(dataset: dataset, generateIDs: false, file: FileIdentity(bucket: "b", key: "k", version: "v")))
        var errors = MemoryErrorLog()
        // Chunks of 256 KiB, cut before the clock starts (an S3 body arrives in chunks too).
        let source = InMemoryByteSource(data, chunkSize: 256 << 10)
        let cpuStart = threadCPU()
        let start = Date()
        let result = try await engine.run(job, source: source, errors: &errors)
        let seconds = Date().timeIntervalSince(start)
        let cpu = threadCPU() - cpuStart
        guard result.failed == 0 else { throw BenchError("the engine failed \(result.failed) records") }
        var status = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &status)
        return Measurement(seconds: seconds, records: result.records, bytes: data.count, cpuSeconds: cpu, maxRSSKiB: Int(status.ru_maxrss))
    }

    static func threadCPU() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// Deletes what earlier runs left: both rows' indices and the copies filed under processed/.
    static func clearEarlierRuns(_ openSearch: OpenSearchClient, _ s3: S3Client, bucket: String) async throws {
        for index in ["bench-2024.05", "pybench-2024.05"] {
            do {
                try await openSearch.deleteIndex(index)
            } catch {
                guard error.status == 404 else { throw error }
            }
        }
        for try await page in s3.listAllObjects(bucket: bucket, prefix: "processed/") where !page.objects.isEmpty {
            _ = try await s3.deleteObjects(bucket: bucket, keys: page.objects.map(\.key))
        }
    }

    static func countDocuments(_ standIn: OpenSearchStandIn, prefix: String) -> Int {
        ["2024.05"].reduce(0) { $0 + standIn.documentIDs(in: prefix + $1).count }
    }
}

/// CPU time of the servers a row shares with the other rows: this process (the OpenSearch stand-in;
/// the bench itself only waits) and moto.
struct ServerCPU {
    let motoPID: Int32
    let start: (Double, Double)

    init(moto: MotoProcess) {
        motoPID = moto.process.processIdentifier
        start = (Self.ownCPU(), ProcessStats.cpuSeconds(of: motoPID))
    }

    func elapsed() -> (standIn: Double, moto: Double) { (Self.ownCPU() - start.0, ProcessStats.cpuSeconds(of: motoPID) - start.1) }

    static func ownCPU() -> Double { IngestBench.threadCPU() }
}

/// A memory cgroup nested in the bench's own (v1 `memory` controller or v2), limited the way Lambda
/// limits a function's memory: RSS and page cache together, no swap.
struct MemoryCgroup {
    let path: String
    let limitBytes: Int
    let v2: Bool

    init(name: String, limitBytes: Int) throws {
        let lines = ((try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? "").split(separator: "\n")
        let v1Line = lines.first { $0.split(separator: ":", omittingEmptySubsequences: false).dropFirst().first?.split(separator: ",").contains("memory") == true }
        let v2Line = lines.first { $0.hasPrefix("0::") }
        if let v1Line, FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory") {
            path = "/sys/fs/cgroup/memory" + String(v1Line.split(separator: ":", maxSplits: 2)[2]) + "/" + name
            v2 = false
        } else if let v2Line, FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") {
            path = "/sys/fs/cgroup" + String(v2Line.dropFirst(3)) + "/" + name
            v2 = true
        } else {
            throw BenchError("no memory cgroup to nest in (BENCH_INGEST_MEMORY_LIMIT_MB)")
        }
        self.limitBytes = limitBytes
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        } catch {
            throw BenchError("cannot create the memory cgroup \(path): \(error)")
        }
        if v2 {
            try write("memory.max", "\(limitBytes)")
            try? write("memory.swap.max", "0")
        } else {
            try write("memory.limit_in_bytes", "\(limitBytes)")
            try? write("memory.memsw.limit_in_bytes", "\(limitBytes)")
        }
    }

    var procsPath: String { path + "/cgroup.procs" }

    func write(_ file: String, _ value: String) throws {
        do {
            try value.write(toFile: path + "/" + file, atomically: false, encoding: .utf8)
        } catch {
            throw BenchError("cannot set \(file) of \(path): \(error)")
        }
    }

    func read(_ file: String) -> String {
        ((try? String(contentsOfFile: path + "/" + file, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Peak usage since the cgroup was made or last reset.
    func peakKiB() -> Int? { Int(read(v2 ? "memory.peak" : "memory.max_usage_in_bytes")).map { $0 / 1024 } }

    func resetPeak() { if !v2 { try? write("memory.max_usage_in_bytes", "0") } }

    /// Limit hits and OOM kills, for an error message.
    func events() -> String {
        v2 ? read("memory.events").replacingOccurrences(of: "\n", with: ", ") : "failcnt \(read("memory.failcnt")), \(read("memory.oom_control").replacingOccurrences(of: "\n", with: ", "))"
    }

    func remove() { rmdir(path) }
}
