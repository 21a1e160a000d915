import AWSClients
import AWSCore
import AWSSigV4
import Foundation
import HTTPTransport
import LoopbackHTTP
import Primitives

/// `bench s3-download`: download throughput and peak memory of one large S3 object streamed to a
/// discarding sink, `S3Client` against boto3's `download_fileobj`, each side in its own process
/// (the bench re-runs itself as the Swift child; the Python peer is
/// `Benchmarks/python/s3_download_boto3.py`).
///
/// Two servers, in one run: a moto_server holding the object (uploaded first with
/// `S3MultipartUpload`), and a `LoopbackHTTPServer` S3 GET responder that generates the bytes
/// (signatures not checked; Content-Length, ETag and byte ranges honoured), so that the clients
/// rather than moto are what is measured. The Swift side is also run on a smaller object from the
/// loopback server, to show its memory does not grow with the object.
enum S3DownloadBench {
    static let command = BenchCommand(
        name: "s3-download", summary: "stream a 256 MB S3 object to a discarding sink: S3Client vs boto3", run: run
    )

    static let bucket = "bench"
    static let childFlag = "BENCH_S3_DOWNLOAD_CHILD"

    struct Measurement {
        var seconds: Double
        var bytes: Int
        var maxRSSKiB: Int
        var megabytesPerSecond: Double { Double(bytes) / 1_048_576 / seconds }
    }

    static func run(_ options: BenchOptions) throws {
        if ProcessInfo.processInfo.environment[childFlag] != nil { return try runChild() }
        let size = (Int(ProcessInfo.processInfo.environment["BENCH_S3_SIZE_MB"] ?? "") ?? 256) << 20
        let key = "objects/download.bin"

        // The generating S3 GET responder.
        let loopback = try LoopbackHTTPServer(behavior: GeneratedObjectServer())
        defer { loopback.stop() }

        // moto, with the object uploaded by our own multipart helper.
        let moto = try MotoProcess.start(scripts: options.scriptsDirectory)
        defer { moto.stop() }
        print("uploading \(size >> 20) MiB to moto…")
        let motoEndpoint = moto.endpoint
        try blocking {
            let s3 = try makeClient(endpoint: motoEndpoint)
            try await s3.createBucket(bucket)
            let pattern = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 % 251) }
            let sent = LockedCounter()
            _ = try await S3MultipartUpload(client: s3, bucket: bucket, key: key).upload(
                HTTPBodyStream(length: Int64(size)) { sent.take(pattern, upTo: size) })
        }

        var rows: [(String, Measurement)] = []
        for (server, endpoint) in [("moto", moto.endpoint), ("loopback", loopback.baseURL)] {
            let objectKey = server == "moto" ? key : "generated/\(size)"
            rows.append(("\(server)  swift S3Client", try child(endpoint: endpoint, key: objectKey)))
            if !options.swiftOnly {
                rows.append(("\(server)  boto3 download_fileobj", try python(options, endpoint: endpoint, key: objectKey)))
            }
        }
        rows.append(("loopback  swift S3Client, 32 MiB", try child(endpoint: loopback.baseURL, key: "generated/\(32 << 20)")))

        print("S3 GetObject streamed to a discarding sink, \(size >> 20) MiB, one process per row")
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        print(pad("case", 40) + pad("MiB/s", 10) + pad("seconds", 10) + pad("bytes", 12) + "peak RSS (VmHWM / ru_maxrss)")
        for (name, m) in rows {
            print(
                pad(name, 40) + pad(String(format: "%.0f", m.megabytesPerSecond), 10) + pad(String(format: "%.2f", m.seconds), 10)
                    + pad(String(m.bytes), 12) + "\(m.maxRSSKiB / 1024) MiB")
        }
        for server in ["moto", "loopback"] {
            guard let swift = rows.first(where: { $0.0 == "\(server)  swift S3Client" })?.1,
                let boto = rows.first(where: { $0.0 == "\(server)  boto3 download_fileobj" })?.1
            else { continue }
            print(
                "\(server): swift/boto3 throughput \(String(format: "%.1f", swift.megabytesPerSecond / boto.megabytesPerSecond))x, "
                    + "peak memory \(String(format: "%.1f", Double(boto.maxRSSKiB) / Double(swift.maxRSSKiB)))x lower")
        }
    }

    static func makeClient(endpoint: String) throws -> S3Client {
        let environment = Environment([
            "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        ])
        return try S3Client(
            settings: try AWSSettings(environment: environment),
            credentials: StaticCredentialProvider(AWSCredentials(accessKeyId: "bench", secretAccessKey: "bench")),
            transport: try CurlTransport(), quota: RetryQuota())
    }

    /// Re-runs this binary as the Swift child and reads its one JSON line.
    static func child(endpoint: String, key: String) throws -> Measurement {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["s3-download"]
        var environment = ProcessInfo.processInfo.environment
        environment[childFlag] = "1"
        environment["BENCH_S3_ENDPOINT"] = endpoint
        environment["BENCH_S3_KEY"] = key
        process.environment = environment
        return try runJSON(process, what: "the Swift child")
    }

    static func python(_ options: BenchOptions, endpoint: String, key: String) throws -> Measurement {
        let script = URL(fileURLWithPath: options.scriptsDirectory).appendingPathComponent("s3_download_boto3.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "--endpoint", endpoint, "--bucket", bucket, "--key", key]
        return try runJSON(process, what: "python3 \(script) (is boto3 installed?)")
    }

    static func runJSON(_ process: Process, what: String) throws -> Measurement {
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let seconds = object["seconds"] as? Double, let bytes = object["bytes"] as? Int, let rss = object["maxrss_kb"] as? Int
        else { throw BenchError("\(what) failed: \(String(decoding: data, as: UTF8.self))") }
        return Measurement(seconds: seconds, bytes: bytes, maxRSSKiB: rss)
    }

    /// The Swift child: one streamed GetObject into a discarding sink.
    static func runChild() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let endpoint = environment["BENCH_S3_ENDPOINT"], let key = environment["BENCH_S3_KEY"] else {
            throw BenchError("child without BENCH_S3_ENDPOINT / BENCH_S3_KEY")
        }
        let result = try blocking { () async throws -> (Double, Int) in
            let s3 = try makeClient(endpoint: endpoint)
            let clock = ContinuousClock()
            let start = clock.now
            let output = try await s3.getObject(bucket: bucket, key: key)
            var count = 0
            for try await chunk in output.body { count &+= chunk.count }
            guard Int64(count) == output.info.contentLength else {
                throw BenchError("read \(count) of \(output.info.contentLength) bytes")
            }
            let elapsed = start.duration(to: clock.now)
            return (elapsed.seconds, count)
        }
        let hwm = ProcessStats.highWaterMarkKiB(getpid()) ?? -1
        print(#"{"seconds": \#(result.0), "bytes": \#(result.1), "maxrss_kb": \#(hwm)}"#)
    }

    /// Runs async work from the synchronous bench entry point.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { box.set(.success(try await body())) } catch { box.set(.failure(error)) }
            done.signal()
        }
        done.wait()
        return try box.get()
    }
}

/// Serves `GET /bench/generated/<size>` (and HEAD) with generated bytes, honouring `Range`; and
/// answers anything else 404. Signatures are not checked.
struct GeneratedObjectServer: HTTPServerBehavior {
    func respond(to request: RecordedRequest) -> ScriptedResponse {
        let prefix = "/\(S3DownloadBench.bucket)/generated/"
        guard request.path.hasPrefix(prefix), let size = Int(request.path.dropFirst(prefix.count)) else {
            return .text("<Error><Code>NoSuchKey</Code></Error>", status: 404)
        }
        var first = 0
        var last = size - 1
        var status = 200
        var headers = [
            RecordedHeader("ETag", "\"generated-\(size)\""), RecordedHeader("Content-Type", "application/octet-stream"),
            RecordedHeader("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT"), RecordedHeader("Accept-Ranges", "bytes"),
        ]
        if let range = request.header("Range"), range.hasPrefix("bytes=") {
            let bounds = range.dropFirst(6).split(separator: "-", omittingEmptySubsequences: false)
            if bounds.count == 2, let lower = Int(bounds[0]) {
                first = lower
                if let upper = Int(bounds[1]) { last = min(upper, size - 1) }
                status = 206
                headers.append(RecordedHeader("Content-Range", "bytes \(first)-\(last)/\(size)"))
            }
        }
        var response = ScriptedResponse.generated(length: last - first + 1)
        response.status = status
        response.headers = headers
        return response
    }
}

/// A moto_server started by `scripts/moto_stack.py --no-auth` (the bench measures downloads, not
/// moto's signature checker). moto keeps objects in memory: by default it spools any object over
/// 5 MiB to a temporary file, so that a copy of a large object would be a write to this machine's
/// disk, which S3 never asks of a client.
final class MotoProcess {
    let process: Process
    let stdin: Pipe
    let endpoint: String

    private init(process: Process, stdin: Pipe, endpoint: String) {
        self.process = process
        self.stdin = stdin
        self.endpoint = endpoint
    }

    static func start(scripts: String) throws -> MotoProcess {
        let script = scripts + "/../../scripts/moto_stack.py"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "--no-auth"]
        process.environment = ProcessInfo.processInfo.environment.merging(["MOTO_S3_DEFAULT_KEY_BUFFER_SIZE": String(4 << 30)]) { $1 }
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while true {
            let byte = stdout.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line.append(byte)
        }
        guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any], let endpoint = object["endpoint"] as? String
        else {
            process.terminate()
            throw BenchError("moto did not start (pip install 'moto[server]'): \(String(decoding: line, as: UTF8.self))")
        }
        return MotoProcess(process: process, stdin: stdin, endpoint: endpoint)
    }

    func stop() {
        try? stdin.fileHandleForWriting.close()
        process.terminate()
        process.waitUntilExit()
    }
}

/// Hands out a repeating pattern until `upTo` bytes have gone.
final class LockedCounter: @unchecked Sendable {
    // Guarded by `lock`: the bytes handed out so far.
    private let lock = NSLock()
    private var sent = 0
    func take(_ pattern: [UInt8], upTo total: Int) -> [UInt8]? {
        lock.lock()
        defer { lock.unlock() }
        guard sent < total else { return nil }
        let count = min(pattern.count, total - sent)
        sent += count
        return count == pattern.count ? pattern : Array(pattern[0..<count])
    }
}

/// The result of a task, handed to a waiting thread.
final class ResultBox<T: Sendable>: @unchecked Sendable {
    // Guarded by `lock`; written once before the semaphore is signalled.
    private let lock = NSLock()
    private var result: Result<T, any Error>?
    func set(_ value: Result<T, any Error>) { lock.withLock { result = value } }
    func get() throws -> T { try lock.withLock { result! }.get() }
}
