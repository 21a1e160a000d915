import AWSClients
import DropboxHandler
import HTTPTransport
import JSONCodec
import LambdaRuntime
import PipelineCore
import Testing
import TestSupport

/// What a request to moto was, by its wire shape: the DynamoDB operation, or the S3 call.
func requestKind(_ request: HTTPRequest) -> String {
    if let target = request.headers["X-Amz-Target"] { return String(target.split(separator: ".").last ?? "") }
    switch request.method {
    case "GET": return request.headers["Range"] == nil ? "GetObject" : "GetObject(range)"
    case "HEAD": return "HeadObject"
    case "PUT": return request.headers["x-amz-copy-source"] == nil ? "PutObject" : "CopyObject"
    case "DELETE": return "DeleteObject"
    default: return request.method
    }
}

@Suite("Dropbox round trips and concurrent batches on moto (signature checking on)")
struct DropboxRoundTripTests {
    @Test("An accepted file takes five requests: claim, one ranged GET (no HeadObject), CopyObject, DeleteObject, status")
    func acceptedRequests() async throws {
        let stack = try await DropboxStack()
        let transport = DropboxStack.recordingTransport()
        let handler = try await stack.handler(transport: transport)
        let record = try await stack.drop("sales/eu/count.jsonl", jsonLines(3))
        let before = transport.requests.count
        #expect(try await stack.run([record], handler: handler).isEmpty)
        let kinds = transport.requests.dropFirst(before).map(requestKind)
        #expect(kinds == ["UpdateItem", "GetObject(range)", "CopyObject", "DeleteObject", "UpdateItem"])
        let head = try await stack.s3.headObject(bucket: stack.ingest, key: "in/sales/sales/eu/count.jsonl")
        #expect(head.metadata[PipelineMetadata.sourceETag] == record.eTag)
        #expect(head.objectSize == record.size)
        let status = try #require(try await stack.store.get(fileId: "sales/sales/eu/count.jsonl@\(record.eTag!)", stage: .dropbox))
        #expect(status.status == .accepted)
        #expect(status.size == record.size)
    }

    @Test("A file larger than its sample whose sample records run past the first read gets a second ranged GET")
    func longRecordsReadTwice() async throws {
        let stack = try await DropboxStack()
        let transport = DropboxStack.recordingTransport()
        let handler = try await stack.handler(transport: transport)
        var body: [UInt8] = []
        for index in 1...30 {
            body += Array("{\"order_id\":\(index),\"sold_at\":\"2024-05-01T10:00:00Z\",\"note\":\"\(String(repeating: "n", count: 10_000))\"}\n".utf8)
        }
        let record = try await stack.drop("sales/eu/long.jsonl", body)
        let before = transport.requests.count
        #expect(try await stack.run([record], handler: handler).isEmpty)
        let requests = Array(transport.requests.dropFirst(before))
        #expect(requests.map(requestKind) == ["UpdateItem", "GetObject(range)", "GetObject(range)", "CopyObject", "DeleteObject", "UpdateItem"])
        #expect(requests[1].headers["Range"] == "bytes=0-\((32 << 10) - 1)")
        #expect(requests[2].headers["Range"] == "bytes=0-\((256 << 10) - 1)")
        #expect(await stack.exists(stack.ingest, "in/sales/sales/eu/long.jsonl"))
    }

    @Test("A file rejected on its content takes six requests: the five of a move plus its .error.json")
    func rejectedRequests() async throws {
        let stack = try await DropboxStack()
        let transport = DropboxStack.recordingTransport()
        let handler = try await stack.handler(transport: transport)
        let record = try await stack.drop("sales/eu/nofield.jsonl", Array("{\"sold_at\":\"2024-05-01T10:00:00Z\"}\n".utf8))
        let before = transport.requests.count
        #expect(try await stack.run([record], handler: handler).isEmpty)
        let kinds = transport.requests.dropFirst(before).map(requestKind)
        #expect(kinds == ["UpdateItem", "GetObject(range)", "PutObject", "CopyObject", "DeleteObject", "UpdateItem"])
        #expect(await stack.exists(stack.dropbox, "rejected/sales/eu/nofield.jsonl"))
        let status = try #require(try await stack.store.get(fileId: "sales/sales/eu/nofield.jsonl@\(record.eTag!)", stage: .dropbox))
        #expect(status.status == .rejected)
        #expect(status.errorCode == Rejection.Code.missingRequiredField.rawValue)
    }

    @Test("A file overwritten after its event is left to the newer event (the ranged GET sees the new ETag)")
    func supersededByGet() async throws {
        let stack = try await DropboxStack()
        let handler = try await stack.handler()
        let old = try await stack.drop("sales/eu/over.jsonl", jsonLines(2))
        let new = try await stack.drop("sales/eu/over.jsonl", jsonLines(3))
        #expect(try await stack.run([old], handler: handler).isEmpty)
        let status = try #require(try await stack.store.get(fileId: "sales/sales/eu/over.jsonl@\(old.eTag!)", stage: .dropbox))
        #expect(status.status == .skipped)
        #expect(status.errorCode == "Superseded")
        #expect(await stack.exists(stack.dropbox, new.key))
    }

    @Test("A batch of ten handled four at a time moves every file exactly once, each to its place")
    func concurrentBatch() async throws {
        let stack = try await DropboxStack(extra: ["BATCH_CONCURRENCY": "4"])
        let handler = try await stack.handler()
        var records: [S3EventRecord] = []
        for index in 0..<8 { records.append(try await stack.drop("sales/eu/batch-\(index).jsonl", jsonLines(20, start: index * 100))) }
        records.append(try await stack.drop("sales/eu/batch-8.jsonl", Array("{\"order_id\":\"x\",\"sold_at\":\"2024-05-01T10:00:00Z\"}\n".utf8)))
        records.append(try await stack.drop("sales/eu/batch-9.txt", jsonLines(1)))
        #expect(try await stack.run(records, handler: handler).isEmpty)
        for record in records {
            #expect(await !stack.exists(stack.dropbox, record.key))
            let name = String(record.key.dropFirst("received_files/".count))
            let status = try #require(try await stack.store.get(fileId: "sales/\(name)@\(record.eTag!)", stage: .dropbox))
            #expect(status.attempt == 1)
            if name.hasSuffix("-8.jsonl") || name.hasSuffix(".txt") {
                #expect(status.status == .rejected)
                #expect(await stack.exists(stack.dropbox, "rejected/\(name)"))
            } else {
                #expect(status.status == .accepted)
                #expect(await stack.exists(stack.ingest, "in/sales/\(name)"))
            }
        }
        #expect(stack.logs.lines.contains { $0.contains(#""Accepted":8"#) })
        #expect(stack.logs.lines.contains { $0.contains(#""Rejected":2"#) })
    }
}
