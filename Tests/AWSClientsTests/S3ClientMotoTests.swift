import AWSClients
import AWSCore
import AWSSigV4
import HTTPTransport
import Primitives
import Synchronization
import Testing
import TestSupport

private typealias Env = S3SQSTestEnvironment

/// S3 calls against a real moto_server with SigV4 signature checking on.
@Suite("S3 against moto with signature checking")
struct S3ClientMotoTests {
    @Test("PutObject then GetObject streams the same bytes back with size, ETag, type and metadata")
    func putAndGet() async throws {
        let s3 = try await Env.s3()
        let bucket = try await Env.bucket(s3)
        let body = Env.pattern(300_000)
        let put = try await s3.putObject(
            bucket: bucket, key: "in/data.bin", body: body, contentType: "application/octet-stream",
            metadata: ["source": "unit-test", "Batch-Id": "42"])
        #expect(put.etag == "\"\(Hex.encode(MD5.digest(body)))\"")

        let output = try await s3.getObject(bucket: bucket, key: "in/data.bin")
        #expect(output.info.contentLength == Int64(body.count))
        #expect(output.info.objectSize == Int64(body.count))
        #expect(output.info.etag == put.etag)
        #expect(output.info.contentType == "application/octet-stream")
        #expect(output.info.metadata == ["source": "unit-test", "batch-id": "42"])
        #expect(output.info.lastModified != nil)
        var received: [UInt8] = []
        var chunks = 0
        for try await chunk in output.body {
            received += chunk
            chunks += 1
        }
        #expect(received == body)
        #expect(chunks >= 1)
    }

    @Test("A ranged GetObject streams just the range and reports the whole size; readPrefix samples the start")
    func rangedGet() async throws {
        let s3 = try await Env.s3()
        let bucket = try await Env.bucket(s3)
        let body = Env.pattern(100_000, seed: 7)
        _ = try await s3.putObject(bucket: bucket, key: "sample.csv", body: body)

        let output = try await s3.getObject(bucket: bucket, key: "sample.csv", range: 1_000...1_999)
        #expect(output.info.contentLength == 1_000)
        #expect(output.info.objectSize == 100_000)
        #expect(output.info.contentRange == "bytes 1000-1999/100000")
        #expect(try await output.body.collect() == Array(body[1_000...1_999]))

        #expect(try await s3.readPrefix(bucket: bucket, key: "sample.csv", count: 64) == Array(body[0..<64]))
        // Longer than the object: S3 cuts the range short.
        #expect(try await s3.readPrefix(bucket: bucket, key: "sample.csv", count: 200_000) == body)
        _ = try await s3.putObject(bucket: bucket, key: "empty", body: [])
        #expect(try await s3.readPrefix(bucket: bucket, key: "empty", count: 16) == [])
    }

    @Test("HeadObject reports size, ETag, type and metadata; a missing key is a typed not-found")
    func headObject() async throws {
        let s3 = try await Env.s3()
        let bucket = try await Env.bucket(s3)
        _ = try await s3.putObject(bucket: bucket, key: "a.txt", body: Array("hello".utf8), contentType: "text/plain", metadata: ["k": "v"])
        let info = try await s3.headObject(bucket: bucket, key: "a.txt")
        #expect(info.contentLength == 5)
        #expect(info.contentType == "text/plain")
        #expect(info.metadata == ["k": "v"])
        #expect(info.etag == "\"5d41402abc4b2a76b9719d911017c592\"")

        let missing = await #expect(throws: AWSError.self) { try await s3.headObject(bucket: bucket, key: "nope.txt") }
        #expect(missing?.isS3NotFound == true)
        #expect(missing?.s3Code == .notFound)
        if case .service(let error) = missing { #expect(error.status == 404) } else { Issue.record("not a service error: \(String(describing: missing))") }

        let noKey = await #expect(throws: AWSError.self) { try await s3.getObject(bucket: bucket, key: "nope.txt") }
        #expect(noKey?.s3Code == .noSuchKey)
        #expect(noKey?.isS3NotFound == true)
        let noBucket = await #expect(throws: AWSError.self) {
            try await s3.headObject(bucket: Env.uniqueName("missing"), key: "x")
        }
        #expect(noBucket?.isS3NotFound == true)
    }

    @Test("Conditional writes and reads fail with PreconditionFailed")
    func preconditions() async throws {
        let s3 = try await Env.s3()
        let bucket = try await Env.bucket(s3)
        let first = try await s3.putObject(bucket: bucket, key: "once", body: [1, 2, 3], ifNoneMatch: "*")
        let again = await #expect(throws: AWSError.self) {
            try await s3.putObject(bucket: bucket, key: "once", body: [4], ifNoneMatch: "*")
        }
        #expect(again?.isS3PreconditionFailed == true)
        let stale = await #expect(throws: AWSError.self) {
            try await s3.getObject(bucket: bucket, key: "once", ifMatch: "\"0000\"")
        }
        #expect(stale?.isS3PreconditionFailed == true)
        let fresh = try await s3.getObject(bucket: bucket, key: "once", ifMatch: first.etag)
        #expect(try await fresh.body.collect() == [1, 2, 3])
    }

    @Test("A streamed PutObject goes up aws-chunked with signed chunks and reads back byte-exact")
    func streamedChunkSignedPut() async throws {
        let s3 = try await Env.s3()
        let bucket = try await Env.bucket(s3)
        let body = Env.pattern(1_000_003, seed: 11)
        let stream = Env.stream(body, piece: 77_777, declaring: Int64(body.count))
        let put = try await s3.putObject(bucket: bucket, key: "streamed/part.bin", stream: stream, metadata: ["mode": "chunked"])
        #expect(put.etag == "\"\(Hex.encode(MD5.digest(body)))\"")
        let info = try await s3.headObject(bucket: bucket, key: "streamed/part.bin")
        #expect(info.contentLength == Int64(body.count))
        #expect(info.metadata["mode"] == "chunked")
        let read = try await s3.getObject(bucket: bucket, key: "streamed/part.bin")
        #expect(try await read.body.collect() == body)
    }

    @Test("A streamed PutObject whose stream is shorter than declared fails without writing the object")
    func streamedPutShortStream() async throws {
        let s3 = try await Env.s3()
        let bucket = try await Env.bucket(s3)
        let body = Env.pattern(100_000)
        let error = await #expect(throws: AWSError.self) {
            try await s3.putObject(
                bucket: bucket, key: "short.bin", stream: Env.stream(body, piece: 10_000, declaring: 150_000))
        }
        if case .transport(let transportError) = error {
            #expect(transportError.code == .requestBodyFailed)
        } else {
            Issue.record("expected a transport error, got \(String(describing: error))")
        }
        let missing = await #expect(throws: AWSError.self) { try await s3.headObject(bucket: bucket, key: "short.bin") }
        #expect(missing?.isS3NotFound == true)
        let unknown = await #expect(throws: AWSError.self) {
            try await s3.putObject(bucket: bucket, key: "x", stream: Env.stream(body, piece: 10, declaring: nil))
        }
        guard case .invalidRequest = unknown else { Issue.record("expected invalidRequest, got \(String(describing: unknown))"); return }
    }

    @Test("A ~12 MiB multipart upload with 5 MiB parts reads back byte-exact, metadata kept")
    func multipartUpload() async throws {
        let s3 = try await Env.s3()
        let bucket = try await Env.bucket(s3)
        let body = Env.pattern(12 << 20 | 12_345, seed: 3)
        let upload = S3MultipartUpload(
            client: s3, bucket: bucket, key: "big/data file.bin", contentType: "application/x-test", metadata: ["origin": "multipart"],
            settings: .init(partSize: 5 << 20, maxPartsInFlight: 2))
        // Unknown length, odd piece size: parts are cut across pieces.
        let result = try await upload.upload(Env.stream(body, piece: 1_000_003, declaring: nil))
        // A multipart ETag is "<md5 of the part md5s>-<parts>".
        #expect(result.etag?.hasSuffix("-3\"") == true)
        let info = try await s3.headObject(bucket: bucket, key: "big/data file.bin")
        #expect(info.contentLength == Int64(body.count))
        #expect(info.contentType == "application/x-test")
        #expect(info.metadata == ["origin": "multipart"])
        let read = try await s3.getObject(bucket: bucket, key: "big/data file.bin")
        #expect(try await read.body.collect() == body)
        #expect(try await s3.listMultipartUploads(bucket: bucket).isEmpty)
    }

    @Test("Data that fits in one part goes up as a single PutObject")
    func smallUploadIsSinglePut() async throws {
        let s3 = try await Env.s3()
        let bucket = try await Env.bucket(s3)
        let body = Env.pattern(1 << 20)
        let result = try await S3MultipartUpload(client: s3, bucket: bucket, key: "small.bin")
            .upload(Env.stream(body, piece: 65_536, declaring: nil))
        #expect(result.etag == "\"\(Hex.encode(MD5.digest(body)))\"")
        #expect(try await s3.getObject(bucket: bucket, key: "small.bin").body.collect() == body)
    }

    @Test("A failing source aborts the multipart upload: no object and no open upload remain")
    func multipartAbortOnSourceFailure() async throws {
        let s3 = try await Env.s3()
        let bucket = try await Env.bucket(s3)
        struct SourceBroke: Error {}
        let served = Mutex(0)
        let piece = Env.pattern(1 << 20)
        let source = HTTPBodyStream(length: nil) {
            let count = served.withLock { value -> Int in
                value += 1
                return value
            }
            if count > 12 { throw SourceBroke() }
            return piece
        }
        let error = await #expect(throws: AWSError.self) {
            try await S3MultipartUpload(client: s3, bucket: bucket, key: "broken.bin", settings: .init(partSize: 5 << 20))
                .upload(source)
        }
        if case .transport(let transportError) = error {
            #expect(transportError.code == .requestBodyFailed)
        } else {
            Issue.record("expected requestBodyFailed, got \(String(describing: error))")
        }
        #expect(try await s3.listMultipartUploads(bucket: bucket).isEmpty)
        let missing = await #expect(throws: AWSError.self) { try await s3.headObject(bucket: bucket, key: "broken.bin") }
        #expect(missing?.isS3NotFound == true)
    }

    @Test("AbortMultipartUpload discards uploaded parts and leaves nothing under the key")
    func explicitAbort() async throws {
        let s3 = try await Env.s3()
        let bucket = try await Env.bucket(s3)
        let id = try await s3.createMultipartUpload(bucket: bucket, key: "aborted.bin")
        _ = try await s3.uploadPart(bucket: bucket, key: "aborted.bin", uploadId: id, partNumber: 1, body: Env.pattern(5 << 20))
        #expect(try await s3.listMultipartUploads(bucket: bucket).map(\.uploadId) == [id])
        try await s3.abortMultipartUpload(bucket: bucket, key: "aborted.bin", uploadId: id)
        #expect(try await s3.listMultipartUploads(bucket: bucket).isEmpty)
        #expect(try await s3.listObjectsV2(bucket: bucket).objects.isEmpty)
        // (moto answers a later call on the aborted upload id with a 500 rather than NoSuchUpload,
        // so the listing above is the check.)
        let missing = await #expect(throws: AWSError.self) { try await s3.headObject(bucket: bucket, key: "aborted.bin") }
        #expect(missing?.isS3NotFound == true)
    }

    @Test("moto enforces the 5 MiB minimum part size: completing with a small middle part is EntityTooSmall")
    func entityTooSmall() async throws {
        let s3 = try await Env.s3()
        let bucket = try await Env.bucket(s3)
        let id = try await s3.createMultipartUpload(bucket: bucket, key: "tiny")
        let one = try await s3.uploadPart(bucket: bucket, key: "tiny", uploadId: id, partNumber: 1, body: [1, 2, 3])
        let two = try await s3.uploadPart(bucket: bucket, key: "tiny", uploadId: id, partNumber: 2, body: [4, 5, 6])
        let error = await #expect(throws: AWSError.self) {
            try await s3.completeMultipartUpload(bucket: bucket, key: "tiny", uploadId: id, parts: [two, one])
        }
        #expect(error?.s3Code == .entityTooSmall)
        try await s3.abortMultipartUpload(bucket: bucket, key: "tiny", uploadId: id)
    }

    @Test("CopyObject copies server-side and keeps the metadata and content type")
    func copyKeepsMetadata() async throws {
        let s3 = try await Env.s3()
        let bucket = try await Env.bucket(s3)
        let target = try await Env.bucket(s3, "s3copy")
        let body = Env.pattern(50_000)
        _ = try await s3.putObject(
            bucket: bucket, key: "received_files/in put.csv", body: body, contentType: "text/csv", metadata: ["provider": "acme"])
        let result = try await s3.copy(
            from: S3ObjectRef(bucket: bucket, key: "received_files/in put.csv"), to: S3ObjectRef(bucket: target, key: "in/moved.csv"))
        #expect(result.etag == "\"\(Hex.encode(MD5.digest(body)))\"")
        let info = try await s3.headObject(bucket: target, key: "in/moved.csv")
        #expect(info.metadata == ["provider": "acme"])
        #expect(info.contentType == "text/csv")
        #expect(try await s3.getObject(bucket: target, key: "in/moved.csv").body.collect() == body)

        let missing = await #expect(throws: AWSError.self) {
            try await s3.copyObject(from: S3ObjectRef(bucket: bucket, key: "absent"), to: S3ObjectRef(bucket: target, key: "x"))
        }
        #expect(missing?.isS3NotFound == true)
    }

    @Test("Above the threshold a copy goes through UploadPartCopy parts and still keeps the metadata")
    func uploadPartCopyPath() async throws {
        let s3 = try await Env.s3()
        let bucket = try await Env.bucket(s3)
        let body = Env.pattern(11 << 20 | 4_321, seed: 5)
        _ = try await S3MultipartUpload(
            client: s3, bucket: bucket, key: "source.bin", contentType: "application/x-parquet", metadata: ["table": "sales"],
            settings: .init(partSize: 5 << 20)
        ).upload(Env.stream(body, piece: 1 << 20, declaring: Int64(body.count)))
        let result = try await s3.copy(
            from: S3ObjectRef(bucket: bucket, key: "source.bin"), to: S3ObjectRef(bucket: bucket, key: "copy/dest.bin"),
            multipartThreshold: 5 << 20, partSize: 5 << 20)
        #expect(result.etag?.hasSuffix("-3\"") == true)
        let info = try await s3.headObject(bucket: bucket, key: "copy/dest.bin")
        #expect(info.contentLength == Int64(body.count))
        #expect(info.metadata == ["table": "sales"])
        #expect(info.contentType == "application/x-parquet")
        #expect(try await s3.getObject(bucket: bucket, key: "copy/dest.bin").body.collect() == body)
        #expect(try await s3.listMultipartUploads(bucket: bucket).isEmpty)
    }

    @Test("ListObjectsV2 pages with a small max-keys until the last page; the sequence walks them all")
    func listPaging() async throws {
        let s3 = try await Env.s3()
        let bucket = try await Env.bucket(s3)
        let keys = (0..<11).map { "in/file \($0 < 10 ? "0" : "")\($0).csv" } + ["out/other.csv", "in/sub/deep.csv"]
        for key in keys { _ = try await s3.putObject(bucket: bucket, key: key, body: Array(key.utf8)) }

        // No "/" in the prefix: moto's checker rejects a correctly signed `prefix=in%2F` (boto3 fails
        // the same way); S3KeyEncodingTests lists with "/" prefixes and a delimiter on a moto without it.
        let first = try await s3.listObjectsV2(bucket: bucket, prefix: "in", maxKeys: 5)
        #expect(first.objects.count == 5)
        #expect(first.isTruncated)
        #expect(first.nextContinuationToken != nil)
        #expect(first.objects.first?.key == "in/file 00.csv")
        #expect(first.objects.first?.size == Int64("in/file 00.csv".utf8.count))

        var pages: [S3ListPage] = []
        for try await page in s3.listAllObjects(bucket: bucket, prefix: "in", pageSize: 5) { pages.append(page) }
        #expect(pages.map(\.objects.count) == [5, 5, 2])
        #expect(pages.last?.isTruncated == false)
        #expect(pages.flatMap(\.objects).map(\.key) == keys.filter { $0.hasPrefix("in/") }.sorted())

        let everything = try await s3.listAllObjects(bucket: bucket, pageSize: 4).allObjects()
        #expect(everything.count == keys.count)

        let bad = await #expect(throws: AWSError.self) { try await s3.listObjectsV2(bucket: bucket, maxKeys: 0) }
        guard case .invalidRequest = bad else { Issue.record("expected invalidRequest, got \(String(describing: bad))"); return }
    }

    @Test("DeleteObject removes a key (and is quiet for a missing one); DeleteObjects reports each key")
    func deletes() async throws {
        let s3 = try await Env.s3()
        let bucket = try await Env.bucket(s3)
        for key in ["a", "b", "c", "d"] { _ = try await s3.putObject(bucket: bucket, key: key, body: [1]) }
        try await s3.deleteObject(bucket: bucket, key: "a")
        try await s3.deleteObject(bucket: bucket, key: "never-existed")
        let result = try await s3.deleteObjects(bucket: bucket, keys: ["b", "c"])
        #expect(Set(result.deleted) == ["b", "c"])
        #expect(result.failed.isEmpty)
        #expect(try await s3.listObjectsV2(bucket: bucket).objects.map(\.key) == ["d"])
    }

    @Test("Bad input is refused before sending with a typed error")
    func badInput() async throws {
        let s3 = try await Env.s3()
        await expectInvalidRequest { () async throws(AWSError) in _ = try await s3.getObject(bucket: "b", key: "") }
        await expectInvalidRequest { () async throws(AWSError) in _ = try await s3.headObject(bucket: "", key: "k") }
        await expectInvalidRequest { () async throws(AWSError) in _ = try await s3.putObject(bucket: "a/b", key: "k", body: []) }
        await expectInvalidRequest { () async throws(AWSError) in
            _ = try await s3.uploadPart(bucket: "b", key: "k", uploadId: "u", partNumber: 10_001, body: [])
        }
        await expectInvalidRequest { () async throws(AWSError) in
            _ = try await S3MultipartUpload(client: s3, bucket: "b", key: "k", settings: .init(partSize: 1 << 20))
                .upload(Env.stream([1], piece: 1, declaring: nil))
        }
        await expectInvalidRequest { () async throws(AWSError) in _ = try await s3.deleteObjects(bucket: "b", keys: Array(repeating: "k", count: 1001)) }
    }

    @Test("A tampered secret is rejected with the typed SignatureDoesNotMatch, and the secret is in no message")
    func tamperedSecret() async throws {
        let stack = try await SharedMoto.get()
        let good = try await Env.s3()
        let bucket = try await Env.bucket(good)
        let tampered = try await Env.s3(secret: stack.secretAccessKey + "x")
        let error = await #expect(throws: AWSError.self) { try await tampered.getObject(bucket: bucket, key: "k") }
        #expect(error?.s3Code == .signatureDoesNotMatch)
        let text = String(describing: error)
        #expect(!text.contains(stack.secretAccessKey))
        // A HEAD has no body to carry the code: it is a 403.
        let head = await #expect(throws: AWSError.self) { try await tampered.headObject(bucket: bucket, key: "k") }
        if case .service(let serviceError) = head { #expect(serviceError.status == 403) } else { Issue.record("expected a 403") }
    }

    @Test("HTTP dates from Last-Modified are read as UTC")
    func httpDates() throws {
        let info = try S3ObjectInfo(headers: ["Content-Length": "1", "Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT"])
        #expect(info.lastModified == Timestamp(iso8601: "2015-10-21T07:28:00Z"))
        let bad = try S3ObjectInfo(headers: ["Content-Length": "1", "Last-Modified": "yesterday"])
        #expect(bad.lastModified == nil)
        #expect(throws: AWSError.self) { try S3ObjectInfo(headers: ["Content-Length": "x"]) }
    }
}

/// Runs `body` and requires it to fail with `AWSError.invalidRequest` and a message.
func expectInvalidRequest(
    _ body: () async throws(AWSError) -> Void, sourceLocation: SourceLocation = #_sourceLocation
) async {
    do throws(AWSError) {
        try await body()
        Issue.record("bad input was accepted", sourceLocation: sourceLocation)
    } catch {
        guard case .invalidRequest(let detail) = error else {
            Issue.record("expected invalidRequest, got \(error)", sourceLocation: sourceLocation)
            return
        }
        #expect(!detail.isEmpty, sourceLocation: sourceLocation)
    }
}
