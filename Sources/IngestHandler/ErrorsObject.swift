package import AWSClients
import HTTPTransport
import JSONCodec

/// One record that did not reach OpenSearch: a line of `failed/<dataset>/<rest>.errors.jsonl`.
/// Holds the record's place, its `_id` when known, the stage and a reason; never its content.
package struct IngestErrorEntry: Sendable, Hashable {
    package enum Stage: String, Sendable, Hashable {
        /// The record could not be read or validated (or given an id or index name).
        case parse
        /// OpenSearch refused it (a mapping conflict…) or kept failing it.
        case index
    }

    package var record: Int
    package var offset: Int64
    package var id: String?
    package var stage: Stage
    package var code: String
    package var reason: String
    package var field: String?

    package init(record: Int, offset: Int64, id: String? = nil, stage: Stage, code: String, reason: String, field: String? = nil) {
        self.record = record
        self.offset = offset
        self.id = id
        self.stage = stage
        self.code = code
        self.reason = reason
        self.field = field
    }

    /// The longest reason kept (OpenSearch reasons can quote long values).
    package static let reasonLimit = 1000

    /// `{"record":N,"offset":N,"_id":…,"stage":…,"error_code":…,"reason":…,"field":…}` and a newline.
    package var line: [UInt8] {
        var object: JSONObject = ["record": .number(record), "offset": .number(offset)]
        if let id { object.append("_id", .string(id)) }
        object.append("stage", .string(stage.rawValue))
        object.append("error_code", .string(code))
        let shortReason = reason.utf8.count > Self.reasonLimit ? String(reason.prefix(Self.reasonLimit)) + "…" : reason
        object.append("reason", .string(shortReason))
        if let field { object.append("field", .string(field)) }
        return JSON.object(object).bytes + [0x0A]
    }

    /// The record number of an errors-object line (nil for a line that is not one of ours).
    package static func recordNumber(ofLine line: ArraySlice<UInt8>) -> Int? {
        guard let value = try? JSONParser.parse(line), let number = value["record"]?.intValue else { return nil }
        return number
    }
}

/// Where the engine reports failed records.
package protocol IngestErrorLog {
    mutating func record(_ entry: IngestErrorEntry) async throws(IngestError)
}

/// Keeps entries in memory (tests, benchmarks).
package struct MemoryErrorLog: IngestErrorLog, Sendable {
    package var entries: [IngestErrorEntry] = []
    package init() {}
    package mutating func record(_ entry: IngestErrorEntry) async throws(IngestError) { entries.append(entry) }
}

/// Writes the errors object in constant memory: lines are buffered up to one part (5 MiB); past
/// that the object becomes a multipart upload, one part at a time. Nothing appears under the key
/// until `finish`, which writes the object (or leaves the key alone when there were no errors).
///
/// For a resumed file, `carryOver` first copies the lines of the previous attempts' errors object
/// whose record number is below the resume point, so that earlier errors are neither lost nor
/// repeated (lines at or past the resume point are re-found by this attempt).
package struct ErrorsObjectWriter: IngestErrorLog {
    package let s3: S3Client
    package let bucket: String
    package let key: String
    package let partSize: Int
    private var buffer: [UInt8] = []
    private var uploadId: String?
    private var parts: [S3CompletedPart] = []
    /// Lines written so far (carried over ones included).
    package private(set) var lines = 0

    package init(s3: S3Client, bucket: String, key: String, partSize: Int = S3Client.MultipartLimits.minimumPartSize) {
        precondition(partSize >= S3Client.MultipartLimits.minimumPartSize)
        self.s3 = s3
        self.bucket = bucket
        self.key = key
        self.partSize = partSize
    }

    /// Copies the lines of an existing errors object with a record number below `before`.
    /// A missing object carries nothing over.
    package mutating func carryOver(before: Int) async throws(IngestError) {
        let output: S3GetObjectOutput
        do {
            output = try await s3.getObject(bucket: bucket, key: key)
        } catch {
            if error.isS3NotFound { return }
            throw IngestError(.storage, "cannot read the earlier errors object \(key): \(error)", underlying: error)
        }
        var pending: [UInt8] = []
        do {
            while let chunk = try await output.body.next() {
                pending += chunk
                var start = 0
                while let newline = pending[start...].firstIndex(of: 0x0A) {
                    try await keep(pending[start...newline], before: before)
                    start = newline + 1
                }
                pending.removeFirst(start)
            }
        } catch let error as IngestError {
            throw error
        } catch {
            throw IngestError(.storage, "cannot read the earlier errors object \(key): \(error)", underlying: error)
        }
        if !pending.isEmpty { try await keep(pending[...] + [0x0A], before: before) }
    }

    private mutating func keep(_ line: ArraySlice<UInt8>, before: Int) async throws(IngestError) {
        guard let number = IngestErrorEntry.recordNumber(ofLine: line.dropLast()), number < before else { return }
        try await append(line)
    }

    package mutating func record(_ entry: IngestErrorEntry) async throws(IngestError) {
        try await append(entry.line[...])
    }

    private mutating func append(_ line: ArraySlice<UInt8>) async throws(IngestError) {
        buffer.append(contentsOf: line)
        lines += 1
        if buffer.count >= partSize { try await uploadPart() }
    }

    private mutating func uploadPart() async throws(IngestError) {
        do {
            if uploadId == nil {
                uploadId = try await s3.createMultipartUpload(bucket: bucket, key: key, contentType: "application/x-ndjson")
            }
            let number = parts.count + 1
            parts.append(try await s3.uploadPart(bucket: bucket, key: key, uploadId: uploadId!, partNumber: number, body: buffer))
            buffer.removeAll(keepingCapacity: true)
        } catch {
            throw IngestError(.storage, "cannot write the errors object \(key): \(error)", underlying: error)
        }
    }

    /// Writes the object. Returns whether one was written (false when there were no lines).
    package mutating func finish() async throws(IngestError) -> Bool {
        do {
            if let uploadId {
                if !buffer.isEmpty { try await uploadPart() }
                _ = try await s3.completeMultipartUpload(bucket: bucket, key: key, uploadId: uploadId, parts: parts)
                self.uploadId = nil
                return true
            }
            guard lines > 0 else { return false }
            _ = try await s3.putObject(bucket: bucket, key: key, body: buffer, contentType: "application/x-ndjson")
            buffer.removeAll()
            return true
        } catch let error as IngestError {
            throw error
        } catch {
            throw IngestError(.storage, "cannot write the errors object \(key): \(error)", underlying: error)
        }
    }

    /// Drops a started multipart upload (after a failure elsewhere).
    package mutating func abandon() async {
        guard let uploadId else { return }
        try? await s3.abortMultipartUpload(bucket: bucket, key: key, uploadId: uploadId)
        self.uploadId = nil
    }
}
