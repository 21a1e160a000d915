import AWSClients
import PipelineCore
import Primitives
import Testing
import TestSupport

@Suite("Verified server-side moves on moto")
struct FileMoverTests {
    static func setUp(auth: Bool = true) async throws -> (S3Client, String, String) {
        let s3 = try await Moto.clients(auth: auth).s3
        let from = Moto.unique("mover-src")
        let to = Moto.unique("mover-dst")
        try await s3.createBucket(from)
        try await s3.createBucket(to)
        return (s3, from, to)
    }

    static func bytes(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) } }

    @Test("A move copies with the pipeline metadata, verifies, then deletes the source")
    func move() async throws {
        let (s3, from, to) = try await Self.setUp()
        let body = Array("{\"order_id\":1}\n".utf8)
        let put = try await s3.putObject(bucket: from, key: "received_files/eu/a.jsonl", body: body, contentType: "application/x-ndjson", metadata: ["owner": "team-a"])
        let mover = FileMover(s3: s3)
        let outcome = try await mover.move(
            from: S3ObjectRef(bucket: from, key: "received_files/eu/a.jsonl"), to: S3ObjectRef(bucket: to, key: "in/sales/eu/a.jsonl"),
            expectedETag: put.etag, metadata: [PipelineMetadata.fileId: "sales/eu/a.jsonl@x"])
        guard case .moved(let info, let multipart) = outcome else { Issue.record("expected a move, got \(outcome)"); return }
        #expect(!multipart)
        #expect(info.objectSize == Int64(body.count))
        #expect(info.metadata["owner"] == "team-a")
        #expect(info.metadata[PipelineMetadata.fileId] == "sales/eu/a.jsonl@x")
        #expect(info.metadata[PipelineMetadata.sourceETag] == FileId.unquoted(put.etag!))
        #expect(info.contentType == "application/x-ndjson")
        await #expect(throws: (any Error).self) { try await s3.headObject(bucket: from, key: "received_files/eu/a.jsonl") }
        #expect(try await s3.readPrefix(bucket: to, key: "in/sales/eu/a.jsonl", count: 100) == body)
    }

    @Test("A move repeated after a crash between copy and delete completes; once the source is gone it reports alreadyMoved")
    func repeatedMove() async throws {
        let (s3, from, to) = try await Self.setUp()
        let put = try await s3.putObject(bucket: from, key: "f.csv", body: Self.bytes(1000))
        let source = S3ObjectRef(bucket: from, key: "f.csv")
        let destination = S3ObjectRef(bucket: to, key: "in/f.csv")
        // The first attempt copied, then died before verifying and deleting.
        _ = try await s3.copy(from: source, to: destination, extraMetadata: [PipelineMetadata.sourceETag: FileId.unquoted(put.etag!)])
        let mover = FileMover(s3: s3)
        let retry = try await mover.move(from: source, to: destination, expectedETag: put.etag)
        guard case .moved = retry else { Issue.record("expected the retry to finish the move, got \(retry)"); return }
        // A third delivery: the source is gone, the destination is verified.
        let again = try await mover.move(from: source, to: destination, expectedETag: put.etag)
        guard case .alreadyMoved(let info) = again else { Issue.record("expected alreadyMoved, got \(again)"); return }
        #expect(info.objectSize == 1000)
    }

    @Test("A missing source with an unverified destination is sourceMissing, and nothing is deleted")
    func missing() async throws {
        let (s3, from, to) = try await Self.setUp()
        // A destination that is not a copy of this source version.
        _ = try await s3.putObject(bucket: to, key: "in/g.csv", body: Self.bytes(10))
        let mover = FileMover(s3: s3)
        do {
            _ = try await mover.move(
                from: S3ObjectRef(bucket: from, key: "g.csv"), to: S3ObjectRef(bucket: to, key: "in/g.csv"), expectedETag: "\"feedface\"")
            Issue.record("expected sourceMissing")
        } catch {
            #expect(error.code == .sourceMissing)
        }
        #expect(try await s3.headObject(bucket: to, key: "in/g.csv").objectSize == 10)
    }

    @Test("A source whose ETag is not the event's is left alone (sourceChanged)")
    func changed() async throws {
        let (s3, from, to) = try await Self.setUp()
        _ = try await s3.putObject(bucket: from, key: "h.csv", body: Self.bytes(20))
        do {
            _ = try await FileMover(s3: s3).move(
                from: S3ObjectRef(bucket: from, key: "h.csv"), to: S3ObjectRef(bucket: to, key: "in/h.csv"), expectedETag: "\"0000\"")
            Issue.record("expected sourceChanged")
        } catch {
            #expect(error.code == .sourceChanged)
        }
        #expect(try await s3.headObject(bucket: from, key: "h.csv").objectSize == 20)
        await #expect(throws: (any Error).self) { try await s3.headObject(bucket: to, key: "in/h.csv") }
    }

    @Test("Above the multipart threshold the copy is done in parts and verified by the pipeline-source-etag metadata")
    func multipart() async throws {
        let (s3, from, to) = try await Self.setUp()
        let body = Self.bytes(6 << 20)
        let put = try await s3.putObject(bucket: from, key: "big.bin", body: body, metadata: ["kept": "yes"])
        let mover = FileMover(s3: s3, multipartThreshold: 1 << 20, partSize: 5 << 20)
        let outcome = try await mover.move(
            from: S3ObjectRef(bucket: from, key: "big.bin"), to: S3ObjectRef(bucket: to, key: "in/big.bin"), expectedETag: put.etag)
        guard case .moved(let info, let multipart) = outcome else { Issue.record("expected a move, got \(outcome)"); return }
        #expect(multipart)
        #expect(info.etag?.contains("-2") == true)
        #expect(info.metadata["kept"] == "yes")
        #expect(info.metadata[PipelineMetadata.sourceETag] == FileId.unquoted(put.etag!))
        let copied = try await s3.readBytes(bucket: to, key: "in/big.bin", range: 0...Int64(body.count - 1), maxBytes: body.count)
        #expect(copied == body)
    }

    @Test("CopyObject's answer verifies a single-part copy only when it carries the source's ETag")
    func confirmedByCopy() {
        let source = S3ObjectInfo(
            contentLength: 10, objectSize: 10, etag: "\"0cc175b9c0f1b6a831c399e269772661\"", contentType: "text/csv",
            metadata: ["owner": "team-a", PipelineMetadata.sourceETag: "old"])
        let extra = [PipelineMetadata.sourceETag: "0cc175b9c0f1b6a831c399e269772661"]
        let copied = FileMover.confirmedByCopy(
            S3PutResult(etag: "\"0cc175b9c0f1b6a831c399e269772661\"", versionId: "v2"), source: source, metadata: extra)
        #expect(copied?.objectSize == 10)
        #expect(copied?.metadata == ["owner": "team-a", PipelineMetadata.sourceETag: "0cc175b9c0f1b6a831c399e269772661"])
        #expect(copied?.contentType == "text/csv")
        #expect(copied?.versionId == "v2")
        // Another ETag (an encrypted copy, say): HeadObject must verify.
        #expect(FileMover.confirmedByCopy(S3PutResult(etag: "\"ffff\""), source: source, metadata: extra) == nil)
        #expect(FileMover.confirmedByCopy(S3PutResult(etag: nil), source: source, metadata: extra) == nil)
        // A multipart source's ETag is not an MD5 of the bytes.
        var multipart = source
        multipart.etag = "\"9b2cf535f27731c974343645a3985328-2\""
        #expect(FileMover.confirmedByCopy(S3PutResult(etag: multipart.etag), source: multipart, metadata: extra) == nil)
    }
}

@Suite("A copy's metadata within S3's 2 KB")
struct MetadataFittingTests {
    static let ours = PipelineMetadata.make(
        fileId: "sales/eu/a.jsonl@0123456789abcdef0123456789abcdef", dataset: "sales", sourceKey: "received_files/sales/eu/a.jsonl",
        sourceETag: "0123456789abcdef0123456789abcdef")

    @Test("Everything that fits is kept")
    func fits() {
        let fitted = PipelineMetadata.fitting(Self.ours, beside: ["owner": "team-a"])
        #expect(fitted.dropped.isEmpty && fitted.ours == Self.ours && fitted.source == ["owner": "team-a"])
    }

    @Test("Over the limit: the source key goes first, then the file id, then the provider's fields, largest first")
    func dropOrder() {
        let a = String(repeating: "a", count: 1000)
        let small = PipelineMetadata.fitting(Self.ours, beside: ["a": a, "b": String(repeating: "b", count: 880)])
        #expect(small.dropped == [PipelineMetadata.sourceKey])
        #expect(PipelineMetadata.size(small.source.merging(small.ours) { $1 }) <= PipelineMetadata.sizeLimit)

        let large = PipelineMetadata.fitting(
            Self.ours, beside: ["a": String(repeating: "a", count: 1500), "b": String(repeating: "b", count: 500)])
        #expect(large.dropped == [PipelineMetadata.sourceKey, PipelineMetadata.fileId, "a"])
        #expect(large.source == ["b": String(repeating: "b", count: 500)])
        #expect(large.ours.keys.sorted() == [PipelineMetadata.dataset, PipelineMetadata.sourceETag])
    }

    @Test("A long non-ASCII key: its two percent-encoded copies go, the source ETag and dataset stay")
    func longNonASCIIKey() {
        let name = String(repeating: "データ", count: 100) + ".jsonl"
        let ours = PipelineMetadata.make(
            fileId: "sales/\(name)@0123456789abcdef0123456789abcdef", dataset: "sales", sourceKey: "received_files/sales/\(name)",
            sourceETag: "0123456789abcdef0123456789abcdef")
        #expect(PipelineMetadata.size(ours) > 2 * 2700)
        let fitted = PipelineMetadata.fitting(ours, beside: ["owner": "team-a"])
        #expect(fitted.dropped == [PipelineMetadata.sourceKey, PipelineMetadata.fileId])
        #expect(fitted.source == ["owner": "team-a"])
        #expect(fitted.ours[PipelineMetadata.sourceETag] == "0123456789abcdef0123456789abcdef" && fitted.ours[PipelineMetadata.dataset] == "sales")
    }

    @Test("A move of an object whose own metadata nears the limit writes a copy within it, the source ETag kept for verification")
    func moveWithinLimit() async throws {
        let (s3, from, to) = try await FileMoverTests.setUp()
        let theirs = ["a": String(repeating: "a", count: 1500), "b": String(repeating: "b", count: 500)]
        let put = try await s3.putObject(bucket: from, key: "received_files/sales/eu/a.jsonl", body: FileMoverTests.bytes(100), metadata: theirs)
        let outcome = try await FileMover(s3: s3).move(
            from: S3ObjectRef(bucket: from, key: "received_files/sales/eu/a.jsonl"), to: S3ObjectRef(bucket: to, key: "in/sales/eu/a.jsonl"),
            expectedETag: put.etag, metadata: Self.ours)
        guard case .moved = outcome else { Issue.record("expected a move, got \(outcome)"); return }
        let head = try await s3.headObject(bucket: to, key: "in/sales/eu/a.jsonl")
        #expect(PipelineMetadata.size(head.metadata) <= PipelineMetadata.sizeLimit)
        #expect(head.metadata["b"] == theirs["b"] && head.metadata["a"] == nil)
        #expect(head.metadata[PipelineMetadata.sourceETag] == FileId.unquoted(put.etag!))
        #expect(head.metadata[PipelineMetadata.dataset] == "sales")
    }
}
