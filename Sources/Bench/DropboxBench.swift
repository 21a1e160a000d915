import AWSClients
import AWSCore
import AWSSigV4
import Foundation
import HTTPTransport
import JSONCodec
import PipelineCore
import Primitives

#if canImport(Glibc)
import Glibc
#endif

/// `bench dropbox`: one SQS batch of 10 files through the dropbox handler, end to end against the
/// same moto, `dropbox-lambda --event` vs the boto3 peer (`Benchmarks/python/dropbox_boto3.py`),
/// each run in its own process from a cold start (init, catalog from SSM, the batch). Per run:
/// wall time of the process, time of the batch alone, and peak RSS: the child's `VmHWM`, read
/// from `/proc/<pid>/status` while it runs. (`wait4`'s `ru_maxrss` is not used: glibc's
/// posix_spawn shares the bench's memory until exec, and Linux carries that high-water mark into
/// the child's, so every child looked at least as large as the bench itself.)
///
/// Each batch holds 8 valid JSON-lines files and 2 that are rejected (a missing field, a wrong
/// extension), of `BENCH_DROPBOX_FILE_KB` (default 256) each; `BENCH_DROPBOX_RUNS` batches per side.
/// `BATCH_CONCURRENCY` is passed on to `dropbox-lambda` (records handled at once, default 4).
/// `BENCH_DROPBOX_LAMBDA` names another `dropbox-lambda` to run (such as the shipped build,
/// `--static-swift-stdlib`); by default the one next to `bench`.
enum DropboxBench {
    static let command = BenchCommand(
        name: "dropbox", summary: "an SQS batch of 10 files through the dropbox handler vs a boto3 peer, time and peak RSS", run: run)

    static let datasets = #"{"datasets":[{"name":"sales","keyPattern":"sales/{region}/*","format":{"type":"jsonl"},"compression":"auto","extensions":[".jsonl",".jsonl.gz"],"requiredFields":{"order_id":"integer","sold_at":"timestamp"},"sampleRecords":5}]}"#

    struct Run {
        var wallSeconds: Double
        var batchSeconds: Double
        var maxRSSKiB: Int
        /// User + system CPU of the handler process (wait4).
        var cpuSeconds: Double = 0
        /// CPU that moto spent while this process ran: the service time both sides wait on.
        var motoCPUSeconds: Double = 0
    }

    static func run(_ options: BenchOptions) throws {
        let environment = ProcessInfo.processInfo.environment
        let runs = Int(environment["BENCH_DROPBOX_RUNS"] ?? "") ?? 5
        let fileBytes = (Int(environment["BENCH_DROPBOX_FILE_KB"] ?? "") ?? 256) << 10
        let binary = environment["BENCH_DROPBOX_LAMBDA"]
            ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("dropbox-lambda").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw BenchError("no dropbox-lambda next to bench (swift build -c release --product dropbox-lambda)")
        }
        let moto = try MotoProcess.start(scripts: options.scriptsDirectory)
        defer { moto.stop() }
        let endpoint = moto.endpoint
        let names = (dropbox: "bench-dropbox", ingest: "bench-ingest", table: "bench-status", parameter: "/bench/datasets")
        try S3DownloadBench.blocking {
            let clients = try clients(endpoint)
            try await clients.s3.createBucket(names.dropbox)
            try await clients.s3.createBucket(names.ingest)
            try await StatusStore.createTable(clients.dynamoDB, table: names.table)
            try await clients.ssm.putParameter(names.parameter, value: datasets)
        }
        var lambdaEnvironment = [
            "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_ENDPOINT_URL": endpoint,
            "AWS_EC2_METADATA_DISABLED": "true", "DROPBOX_BUCKET_NAME": names.dropbox, "INGEST_BUCKET_NAME": names.ingest,
            "INGEST_STATUS_TABLE": names.table, "DATASETS_PARAMETER": names.parameter, "PATH": "/usr/bin:/bin",
            "AWS_LAMBDA_LOG_LEVEL": "WARN",
        ]
        lambdaEnvironment["HOME"] = environment["HOME"]
        // BATCH_CONCURRENCY passes through, to compare the dropbox's settings in one build.
        lambdaEnvironment["BATCH_CONCURRENCY"] = environment["BATCH_CONCURRENCY"]
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-dropbox-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        var results: [String: [Run]] = ["swift": [], "boto3": []]
        for round in 0..<runs {
            for side in options.swiftOnly ? ["swift"] : ["swift", "boto3"] {
                let eventPath = "\(directory)/event-\(side)-\(round).json"
                let event = try S3DownloadBench.blocking {
                    try await upload(clients(endpoint), bucket: names.dropbox, prefix: "\(side)-\(round)", fileBytes: fileBytes)
                }
                try Data(event).write(to: URL(fileURLWithPath: eventPath))
                var run: Run
                let motoBefore = ProcessStats.cpuSeconds(of: moto.process.processIdentifier)
                if side == "swift" {
                    run = try spawn(binary, ["--event", eventPath], environment: lambdaEnvironment, directory: directory, batchFromEMF: true)
                } else {
                    let script = URL(fileURLWithPath: options.scriptsDirectory).appendingPathComponent("dropbox_boto3.py").path
                    run = try spawn("/usr/bin/env", ["python3", script, "--event", eventPath], environment: lambdaEnvironment.merging(
                        ["PATH": environment["PATH"] ?? "/usr/bin:/bin"]) { $1 }, directory: directory, batchFromEMF: false)
                }
                run.motoCPUSeconds = ProcessStats.cpuSeconds(of: moto.process.processIdentifier) - motoBefore
                results[side]!.append(run)
            }
            try S3DownloadBench.blocking { try await verify(clients(endpoint), names: names, round: round) }
        }

        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        print("dropbox: one SQS batch of 10 files (\(fileBytes >> 10) KiB each, 8 accepted, 2 rejected), cold process per batch, \(runs) runs, medians")
        print(pad("side", 28) + pad("process ms", 14) + pad("batch ms", 12) + pad("CPU ms", 10) + pad("moto CPU ms", 14) + "peak RSS")
        for side in ["swift", "boto3"] {
            guard let rows = results[side], !rows.isEmpty else { continue }
            let name = side == "swift" ? "swift dropbox-lambda" : "python boto3 peer"
            print(
                pad(name, 28) + pad(String(format: "%.0f", median(rows.map(\.wallSeconds)) * 1000), 14)
                    + pad(String(format: "%.0f", median(rows.map(\.batchSeconds)) * 1000), 12)
                    + pad(String(format: "%.0f", median(rows.map(\.cpuSeconds)) * 1000), 10)
                    + pad(String(format: "%.0f", median(rows.map(\.motoCPUSeconds)) * 1000), 14)
                    + String(format: "%.1f MiB", Double(rows.map(\.maxRSSKiB).max()!) / 1024))
        }
        if let swift = results["swift"], let boto = results["boto3"], !boto.isEmpty {
            print(
                "swift vs boto3: process \(String(format: "%.1f", median(boto.map(\.wallSeconds)) / median(swift.map(\.wallSeconds))))x faster, "
                    + "batch \(String(format: "%.1f", median(boto.map(\.batchSeconds)) / median(swift.map(\.batchSeconds))))x faster, "
                    + "CPU \(String(format: "%.1f", median(boto.map(\.cpuSeconds)) / median(swift.map(\.cpuSeconds))))x less, "
                    + "peak memory \(String(format: "%.1f", Double(boto.map(\.maxRSSKiB).max()!) / Double(swift.map(\.maxRSSKiB).max()!)))x lower")
        }
    }

    static func clients(_ endpoint: String) throws -> PipelineClients {
        let settings = try AWSSettings(environment: Environment(["AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint]))
        return try PipelineClients.make(
            settings: settings, credentials: StaticCredentialProvider(AWSCredentials(accessKeyId: "bench", secretAccessKey: "bench")),
            transport: try CurlTransport())
    }

    /// Uploads a batch's 10 files and returns its SQS event.
    static func upload(_ clients: PipelineClients, bucket: String, prefix: String, fileBytes: Int) async throws -> [UInt8] {
        var messages: [JSON] = []
        for index in 0..<10 {
            let name: String
            var body: [UInt8] = []
            var line = 0
            let missing = index == 8
            name = index == 9 ? "sales/eu/\(prefix)-\(index).txt" : "sales/eu/\(prefix)-\(index).jsonl"
            while body.count < fileBytes {
                line += 1
                let record = missing
                    ? "{\"sold_at\":\"2024-05-01T10:00:00Z\",\"amount\":\(line)}\n"
                    : "{\"order_id\":\(line),\"sold_at\":\"2024-05-01T10:00:00Z\",\"amount\":\(line).25,\"customer\":\"customer number \(line)\"}\n"
                body += Array(record.utf8)
            }
            let key = "received_files/\(name)"
            let put = try await clients.s3.putObject(bucket: bucket, key: key, body: body)
            let notification: JSON = .object([
                "Records": .array([
                    .object([
                        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventName": "ObjectCreated:Put",
                        "s3": .object([
                            "bucket": .object(["name": .string(bucket)]),
                            "object": .object(["key": .string(key), "size": .number(body.count), "eTag": .string(FileId.unquoted(put.etag ?? ""))]),
                        ]),
                    ])
                ])
            ])
            messages.append(.object(["messageId": .string("m-\(index)"), "receiptHandle": "rh", "body": .string(notification.text)]))
        }
        return JSON.object(["Records": .array(messages)]).bytes
    }

    /// Checks that both sides left the dropbox empty of this round's files.
    static func verify(_ clients: PipelineClients, names: (dropbox: String, ingest: String, table: String, parameter: String), round: Int)
        async throws
    {
        let left = try await clients.s3.listAllObjects(bucket: names.dropbox, prefix: "received_files/").allObjects()
        guard left.isEmpty else { throw BenchError("round \(round): \(left.count) files were left in the dropbox: \(left.map(\.key))") }
    }

    /// Runs a child with posix_spawn, output to files, and polls its peak RSS until it exits.
    static func spawn(_ path: String, _ arguments: [String], environment: [String: String], directory: String, batchFromEMF: Bool) throws -> Run {
        let outPath = "\(directory)/stdout", errPath = "\(directory)/stderr"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let start = ContinuousClock.now
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard spawned == 0 else { throw BenchError("cannot start \(path): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        var usage = rusage()
        // VmHWM is the high-water mark of the running image only; it never falls, so the last
        // reading before the exit is the peak (but for growth in the final millisecond).
        var peakKiB = 0
        while true {
            let done = wait4(pid, &status, WNOHANG, &usage)
            if done == pid { break }
            if done < 0, errno != EINTR { throw BenchError("wait4 failed: \(String(cString: strerror(errno)))") }
            if let kib = ProcessStats.highWaterMarkKiB(pid) { peakKiB = max(peakKiB, kib) }
            usleep(1000)
        }
        let elapsed = start.duration(to: .now)
        let wall = elapsed.seconds
        let stdout = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        guard status == 0, stdout.contains(#""batchItemFailures":[]"#) else {
            throw BenchError("\(path) failed (status \(status)): \(stdout.prefix(400)) \(stderr.suffix(800))")
        }
        var batch = -1.0
        if batchFromEMF {
            // The runtime's EMF document carries the invocation's Duration (ms).
            for line in stderr.split(separator: "\n") where line.contains("\"_aws\"") {
                if let json = try? JSONParser.parse(String(line)), let ms = json["Duration"]?.doubleValue { batch = ms / 1000 }
            }
        } else if let json = try? JSONParser.parse(stdout.split(separator: "\n").last.map(String.init) ?? ""),
            let seconds = json["batch_seconds"]?.doubleValue
        {
            batch = seconds
        }
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        return Run(wallSeconds: wall, batchSeconds: batch, maxRSSKiB: peakKiB, cpuSeconds: cpu)
    }
}
