import AWSClients
import AWSCore
import AWSSigV4
import Foundation
import HTTPTransport
import IngestHandler
import LoopbackHTTP
import PipelineSettings
import Primitives
import RecordReaders
import Testing

/// Peak memory of the real streaming path (S3 GetObject over libcurl → record reader → bulk
/// bodies → `BulkIndexer` over libcurl) does not grow with the file: a generating loopback S3 and a
/// loopback `_bulk` responder that answers every item 201 and keeps nothing.
@Suite("Ingest memory")
struct IngestMemoryTests {
    static let recordBytes = 200

    /// Record `i`, exactly `recordBytes` long with its newline.
    static func record(_ i: Int) -> [UInt8] {
        let head = #"{"event_id":"# + String(1_000_000_000 + i) + #","created_at":"2024-05-01T10:00:00Z","pad":""#
        let tail = "\"}\n"
        return Array((head + String(repeating: "x", count: recordBytes - head.utf8.count - tail.utf8.count) + tail).utf8)
    }

    static func s3Server() throws -> LoopbackHTTPServer {
        try LoopbackHTTPServer(
            behavior: ClosureBehavior { request in
                guard let megabytes = Int(request.path.split(separator: "/").last ?? "") else {
                    return .text("<Error><Code>NoSuchKey</Code></Error>", status: 404)
                }
                let count = (megabytes << 20) / recordBytes
                return ScriptedResponse(
                    headers: [RecordedHeader("ETag", "\"gen-\(megabytes)\""), RecordedHeader("Content-Type", "application/x-ndjson")],
                    body: .stream(length: count * recordBytes) { writer in
                        var i = 0
                        while i < count {
                            var chunk: [UInt8] = []
                            chunk.reserveCapacity(1000 * recordBytes)
                            let end = min(count, i + 1000)
                            while i < end {
                                chunk += record(i)
                                i += 1
                            }
                            try writer.write(chunk)
                        }
                    })
            }, recordsRequests: false)
    }

    static func bulkServer() throws -> LoopbackHTTPServer {
        try LoopbackHTTPServer(
            behavior: ClosureBehavior { request in
                guard request.path == "/_bulk" else { return ScriptedResponse(status: 200) }
                let actions = request.body.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } / 2
                var body = Array(#"{"took":1,"errors":false,"items":["#.utf8)
                let item = Array(#"{"index":{"status":201,"result":"created"}}"#.utf8)
                for n in 0..<actions {
                    if n > 0 { body.append(UInt8(ascii: ",")) }
                    body += item
                }
                body += Array("]}".utf8)
                return ScriptedResponse(headers: [RecordedHeader("Content-Type", "application/json")], body: .bytes(body))
            }, recordsRequests: false)
    }

    static func highWaterKiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    @Test("BoundedMemory: ingesting 200 MB raises peak RSS by under 32 MiB over ingesting 40 MB (5x the data)")
    func peakMemoryIndependentOfFileSizeBoundedMemory() async throws {
        let s3Server = try Self.s3Server()
        let bulkServer = try Self.bulkServer()
        defer {
            s3Server.stop()
            bulkServer.stop()
        }
        let transport = try CurlTransport()
        let credentials = StaticCredentialProvider(AWSCredentials(accessKeyId: "AKIDMEMORY", secretAccessKey: "memory"))
        let settings = try AWSSettings(environment: Environment(["AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": s3Server.baseURL]))
        let s3 = try S3Client(settings: settings, credentials: credentials, transport: transport, quota: RetryQuota())
        let openSearch = OpenSearchClient(
            endpoint: try ServiceEndpoint(parsing: bulkServer.baseURL), region: "us-east-1", credentials: credentials, transport: transport)
        let sink = OpenSearchBulkSink(indexer: BulkIndexer(client: openSearch, settings: BulkSettings(concurrency: 1)))
        let catalog = try DatasetCatalog.parse(try IngestTestStack.fixture("datasets.json"))
        let dataset = try #require(catalog.dataset(named: "events"))
        let engine = IngestEngine(sink: sink, chunkBytes: 5 << 20, concurrency: 4)

        func ingest(_ megabytes: Int) async throws -> IngestRunResult {
            let output = try await s3.getObject(bucket: "gen", key: "objects/\(megabytes)")
            let body = output.body
            let source = ObjectByteSource(compression: .none) { try await body.next() }
            let job = IngestJob(
                dataset: dataset, index: try #require(dataset.index),
                ids: RecordIDMaker(dataset: dataset, generateIDs: false, file: FileIdentity(bucket: "gen", key: "k", version: "1")))
            var errors = MemoryErrorLog()
            let result = try await engine.run(job, source: source, errors: &errors)
            #expect(errors.entries.count == 0)
            return result
        }

        let small = try await ingest(40)
        #expect(small.indexed == (40 << 20) / Self.recordBytes)
        let afterSmall = Self.highWaterKiB()
        let large = try await ingest(200)
        #expect(large.indexed == (200 << 20) / Self.recordBytes && large.failed == 0)
        let afterLarge = Self.highWaterKiB()
        print("VmHWM after 40 MB: \(afterSmall / 1024) MiB, after 200 MB: \(afterLarge / 1024) MiB")
        let growth = afterLarge - afterSmall
        // Streaming, not buffering: 160 MB more input must not raise the peak by anything near it.
        // 40 MB already fills every stage (4 bulk bodies in flight, one being filled), so what is
        // left is allocator noise: 9-20 MiB measured (the test process keeps glibc's dynamic
        // mmap threshold, which the bootstraps fix; `bench ingest` measures their flat peak).
        #expect(growth < 32 << 10, "peak RSS grew by \(growth / 1024) MiB for 5x the data: something holds the file")
    }
}
