package import AWSClients
package import AWSCore
package import HTTPTransport
import Parquet
import RecordReaders

/// An S3 response body as the record readers' pull-based byte source.
package struct S3BodySource: ByteChunkSource, Sendable {
    let body: HTTPResponseBody

    package init(_ body: HTTPResponseBody) { self.body = body }

    package mutating func nextChunk() async throws -> [UInt8]? { try await body.next() }
}

/// A Parquet file going to S3 under its final key. Bytes are buffered up to one part: a small
/// file is one PutObject; a larger one becomes a multipart upload whose parts go up as the writer
/// produces them. Either way the object appears whole or not at all (S3 publishes a multipart
/// upload only on CompleteMultipartUpload), and the key is deterministic, so a retry overwrites
/// instead of duplicating. `abort()` drops an unfinished upload.
package struct S3ParquetSink: AsyncParquetSink {
    package let s3: S3Client
    package let bucket: String
    package let key: String
    package let partSize: Int
    package let metadata: [String: String]
    private var buffer: [UInt8] = []
    private var uploadId: String?
    private var parts: [S3CompletedPart] = []
    package private(set) var bytes: Int64 = 0

    package init(s3: S3Client, bucket: String, key: String, partSize: Int, metadata: [String: String] = [:]) {
        self.s3 = s3
        self.bucket = bucket
        self.key = key
        self.partSize = max(partSize, S3Client.MultipartLimits.minimumPartSize)
        self.metadata = metadata
    }

    /// Whether the file went up in parts.
    package var isMultipart: Bool { uploadId != nil }

    package mutating func write(_ chunk: [UInt8]) async throws {
        buffer.append(contentsOf: chunk)
        bytes += Int64(chunk.count)
        while buffer.count >= partSize {
            let part = Array(buffer[0..<partSize])
            buffer.removeFirst(partSize)
            try await upload(part)
        }
    }

    private mutating func upload(_ part: [UInt8]) async throws(AWSError) {
        if uploadId == nil {
            uploadId = try await s3.createMultipartUpload(
                bucket: bucket, key: key, contentType: "application/vnd.apache.parquet", metadata: metadata)
        }
        parts.append(try await s3.uploadPart(bucket: bucket, key: key, uploadId: uploadId!, partNumber: parts.count + 1, body: part))
    }

    /// Publishes the object under its key.
    package mutating func complete() async throws(AWSError) {
        if let uploadId {
            if !buffer.isEmpty || parts.isEmpty { try await upload(buffer) }
            buffer = []
            _ = try await s3.completeMultipartUpload(bucket: bucket, key: key, uploadId: uploadId, parts: parts)
        } else {
            _ = try await s3.putObject(
                bucket: bucket, key: key, body: buffer, contentType: "application/vnd.apache.parquet", metadata: metadata)
            buffer = []
        }
    }

    /// Drops an unfinished multipart upload (nothing was published).
    package mutating func abort() async {
        buffer = []
        guard let uploadId else { return }
        try? await s3.abortMultipartUpload(bucket: bucket, key: key, uploadId: uploadId)
        self.uploadId = nil
    }
}
