import Foundation
import LoopbackHTTP
import OpenSearchStandIn
import Primitives
import RecordReaders

/// `bench standin-bulk`: what the OpenSearch stand-in spends on one `_bulk` request of `bench
/// ingest`'s records (`IngestBench.generate`: ~200-byte JSON objects, eight fields, dynamic
/// mapping), without sockets or signatures: each request is handed to `OpenSearchStandIn.respond`.
///
/// `BENCH_STANDIN_BULK_MB` (default 5) sizes each body (actions and documents), `BENCH_STANDIN_BULK_REQUESTS` (default 8)
/// is how many are sent; every request carries new ids (all items are `created`, as in the ingest
/// run). Requests ask for `filter_path=errors,items.*.status,items.*.error` as the ingest handler
/// does; `BENCH_STANDIN_BULK_FILTER` sets another (empty: none, the full answer). The bodies are built before the clock starts. Under `valgrind --tool=callgrind`, the
/// difference between runs with 1 and 2 requests is one request's instruction count.
enum StandInBulkBench {
    static let command = BenchCommand(
        name: "standin-bulk", summary: "the OpenSearch stand-in's _bulk path alone on bench ingest's records (MB/s, CPU/request)", run: run
    )

    static func run(_ options: BenchOptions) throws {
        let environment = ProcessInfo.processInfo.environment
        let megabytes = Int(environment["BENCH_STANDIN_BULK_MB"] ?? "") ?? 5
        let requests = Int(environment["BENCH_STANDIN_BULK_REQUESTS"] ?? "") ?? 8
        guard megabytes > 0, requests > 0 else { throw BenchError("BENCH_STANDIN_BULK_MB and BENCH_STANDIN_BULK_REQUESTS must be positive") }
        let records = IngestBench.generate(megabytes: megabytes)
        let bodies = (0..<requests).map { body(records: records, request: $0, limit: megabytes << 20) }
        let filter = environment["BENCH_STANDIN_BULK_FILTER"] ?? "errors,items.*.status,items.*.error"
        let target = filter.isEmpty ? "/_bulk" : "/_bulk?filter_path=" + filter
        let standIn = try OpenSearchStandIn(OpenSearchStandInConfiguration(secretAccessKey: "bench", verifiesSignatures: false))
        defer { standIn.stop() }

        let cpuStart = IngestBench.threadCPU()
        let clock = ContinuousClock()
        let start = clock.now
        for body in bodies {
            let response = standIn.respond(
                to: RecordedRequest(
                    method: "POST", target: target, headers: [RecordedHeader("content-type", "application/x-ndjson")], body: body))
            guard response.status == 200, case .bytes(let answer) = response.body, answer.first == UInt8(ascii: "{"),
                !String(decoding: answer.prefix(64), as: UTF8.self).contains(#""errors":true"#)
            else { throw BenchError("the stand-in did not take every item (status \(response.status))") }
        }
        let items = standIn.stats.bulkItems
        let elapsed = start.duration(to: clock.now)
        let seconds = elapsed.seconds
        let cpu = IngestBench.threadCPU() - cpuStart
        let bytes = bodies.reduce(0) { $0 + $1.count }
        print("OpenSearch stand-in _bulk, \(requests) requests of \(bodies[0].count) bytes, \(items / requests) items each, filter_path: \(filter.isEmpty ? "none" : filter)")
        print("MB/s: \(String(Int(Double(bytes) / seconds / 1e6)))  CPU s/request: \(cpu / Double(requests))  documents: \(items)")
    }

    /// `{"index":{"_index":"bench-2024.05","_id":…}}` and the record, for every record; ids unique per request, 32 characters like the handler's.
    static func body(records: [UInt8], request: Int, limit: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(limit + 1024)
        var number = 0
        var start = records.startIndex
        while out.count < limit, let end = records[start...].firstIndex(of: 0x0A) {
            // 32 characters, as long as the handler's ids.
            let digits = String(number)
            let id = String(request) + "-" + String(repeating: "0", count: max(0, 30 - digits.count)) + digits
            BulkAction.appendIndex(index: "bench-2024.05", id: id, document: records[start..<end], to: &out)
            number += 1
            start = end + 1
        }
        return out
    }
}
