package import AWSCore
package import HTTPTransport
import Primitives
import XMLCodec

extension S3Client {
    /// The limits S3 puts on multipart uploads.
    package enum MultipartLimits {
        /// Every part but the last must be at least this large.
        package static let minimumPartSize = 5 << 20
        package static let maximumPartSize = 5 << 30
        package static let maximumParts = 10_000
    }

    /// CreateMultipartUpload; returns the upload id.
    package func createMultipartUpload(
        bucket: String, key: String, contentType: String? = nil, metadata: [String: String] = [:]
    ) async throws(AWSError) -> String {
        let headers = Self.objectHeaders(contentType: contentType, metadata: metadata)
        let response = try await client.send(request("POST", bucket: bucket, key: key, query: [("uploads", "")], headers: headers))
        let root = try Self.parseXML(response.body, "CreateMultipartUpload")
        guard let uploadId = root.childText("UploadId"), !uploadId.isEmpty else {
            throw AWSError.invalidResponse("S3 CreateMultipartUpload answered without an UploadId")
        }
        return uploadId
    }

    /// UploadPart from memory (so a failed attempt is retried).
    package func uploadPart(bucket: String, key: String, uploadId: String, partNumber: Int, body: [UInt8])
        async throws(AWSError) -> S3CompletedPart
    {
        try Self.validate(partNumber: partNumber)
        let response = try await client.send(
            request(
                "PUT", bucket: bucket, key: key, query: [("partNumber", String(partNumber)), ("uploadId", uploadId)],
                body: .bytes(body)))
        guard let etag = response.headers["ETag"] else {
            throw AWSError.invalidResponse("S3 UploadPart answered without an ETag")
        }
        return S3CompletedPart(partNumber: partNumber, etag: etag)
    }

    /// UploadPartCopy: copies `range` (inclusive) of `source` into part `partNumber`.
    package func uploadPartCopy(
        bucket: String, key: String, uploadId: String, partNumber: Int, source: S3ObjectRef, range: ClosedRange<Int64>
    ) async throws(AWSError) -> S3CompletedPart {
        try Self.validate(partNumber: partNumber)
        var headers = try Self.copySourceHeaders(source)
        headers.add("x-amz-copy-source-range", "bytes=\(range.lowerBound)-\(range.upperBound)")
        let response = try await client.send(
            request(
                "PUT", bucket: bucket, key: key, query: [("partNumber", String(partNumber)), ("uploadId", uploadId)],
                headers: headers))
        let root = try Self.parseXMLCheckingError(response, "UploadPartCopy")
        guard let etag = root.childText("ETag") else { throw AWSError.invalidResponse("S3 UploadPartCopy answered without an ETag") }
        return S3CompletedPart(partNumber: partNumber, etag: etag)
    }

    /// CompleteMultipartUpload with `parts` (sorted by part number here).
    package func completeMultipartUpload(bucket: String, key: String, uploadId: String, parts: [S3CompletedPart])
        async throws(AWSError) -> S3PutResult
    {
        guard !parts.isEmpty else { throw AWSError.invalidRequest("a multipart upload needs at least one part") }
        var xml = "<CompleteMultipartUpload xmlns=\"\(Self.xmlns)\">"
        for part in parts.sorted(by: { $0.partNumber < $1.partNumber }) {
            xml += "<Part>\(XMLWriter.element("ETag", part.etag))<PartNumber>\(part.partNumber)</PartNumber></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let response = try await client.send(
            request(
                "POST", bucket: bucket, key: key, query: [("uploadId", uploadId)], headers: ["Content-Type": "application/xml"],
                body: .bytes(Array(xml.utf8))))
        let root = try Self.parseXMLCheckingError(response, "CompleteMultipartUpload")
        return S3PutResult(etag: root.childText("ETag"), versionId: response.headers["x-amz-version-id"])
    }

    /// AbortMultipartUpload: the parts are discarded and nothing appears under the key.
    package func abortMultipartUpload(bucket: String, key: String, uploadId: String) async throws(AWSError) {
        _ = try await client.send(request("DELETE", bucket: bucket, key: key, query: [("uploadId", uploadId)]))
    }

    /// ListMultipartUploads: the uploads still open in `bucket` (first page).
    package func listMultipartUploads(bucket: String, prefix: String? = nil) async throws(AWSError) -> [S3MultipartUploadSummary] {
        var query: [(String, String)] = [("uploads", "")]
        if let prefix { query.append(("prefix", prefix)) }
        let response = try await client.send(request("GET", bucket: bucket, query: query))
        let root = try Self.parseXML(response.body, "ListMultipartUploads")
        return root.children("Upload").compactMap { upload in
            guard let key = upload.childText("Key"), let id = upload.childText("UploadId") else { return nil }
            return S3MultipartUploadSummary(key: key, uploadId: id)
        }
    }

    static func validate(partNumber: Int) throws(AWSError) {
        guard (1...MultipartLimits.maximumParts).contains(partNumber) else {
            throw AWSError.invalidRequest("part numbers run from 1 to \(MultipartLimits.maximumParts) (got \(partNumber))")
        }
    }

    /// `x-amz-copy-source: bucket/key[?versionId=…]`, the key percent-encoded as in a path.
    static func copySourceHeaders(_ source: S3ObjectRef) throws(AWSError) -> HTTPHeaders {
        try validate(bucket: source.bucket)
        guard !source.key.isEmpty else { throw AWSError.invalidRequest("the copy source needs a key") }
        var value = PercentEncoding.encode(source.bucket + "/" + source.key, allowing: .unreservedAndSlash)
        if let version = source.versionId { value += "?versionId=" + PercentEncoding.encode(version) }
        return ["x-amz-copy-source": value]
    }

    /// Runs `work` for each job `produce` hands out, at most `limit` at a time, and returns the
    /// parts. On the first failure the rest are cancelled and that failure is thrown.
    static func runParts<Job: Sendable>(
        limit: Int,
        produce: () async throws(AWSError) -> (partNumber: Int, job: Job)?,
        work: @escaping @Sendable (Int, Job) async throws(AWSError) -> S3CompletedPart
    ) async throws(AWSError) -> [S3CompletedPart] {
        let outcome: Result<[S3CompletedPart], AWSError> = await withTaskGroup(of: Result<S3CompletedPart, AWSError>.self) {
            group in
            var parts: [S3CompletedPart] = []
            var inFlight = 0
            var failure: AWSError?
            func collectOne() async {
                guard let result = await group.next() else { return }
                inFlight -= 1
                switch result {
                case .success(let part): parts.append(part)
                case .failure(let error): if failure == nil { failure = error }
                }
            }
            while failure == nil {
                while inFlight >= limit, failure == nil { await collectOne() }
                if failure != nil { break }
                let next: (partNumber: Int, job: Job)?
                do throws(AWSError) {
                    next = try await produce()
                } catch {
                    failure = error
                    break
                }
                guard let next else { break }
                inFlight += 1
                group.addTask {
                    do throws(AWSError) {
                        return .success(try await work(next.partNumber, next.job))
                    } catch {
                        return .failure(error)
                    }
                }
            }
            if failure != nil { group.cancelAll() }
            while inFlight > 0 { await collectOne() }
            if let failure { return .failure(failure) }
            return .success(parts.sorted { $0.partNumber < $1.partNumber })
        }
        return try outcome.get()
    }

    /// Aborts an upload after a failure, even when the calling task was cancelled; an abort that
    /// fails too is not reported over the original error.
    func abandon(bucket: String, key: String, uploadId: String) async {
        let client = self
        await Task.detached {
            try? await client.abortMultipartUpload(bucket: bucket, key: key, uploadId: uploadId)
        }.value
    }
}

/// Uploads a stream of unknown length as a multipart upload: cuts it into parts (8 MiB by
/// default), keeps a few parts in flight at once, lets the client retry each part, completes, and
/// aborts the upload on any failure so that no half-written object appears under the key. Data
/// that fits in one part goes up as a single PutObject instead. Memory held: about
/// `(maxPartsInFlight + 1) × partSize`.
package struct S3MultipartUpload: Sendable {
    package struct Settings: Sendable, Hashable {
        /// Bytes per part; at least 5 MiB. Grown when a known total would need more than 10,000 parts.
        package var partSize: Int
        /// Parts uploading at the same time.
        package var maxPartsInFlight: Int

        package init(partSize: Int = 8 << 20, maxPartsInFlight: Int = 4) {
            self.partSize = partSize
            self.maxPartsInFlight = maxPartsInFlight
        }
    }

    package let client: S3Client
    package let bucket: String
    package let key: String
    package let contentType: String?
    package let metadata: [String: String]
    package let settings: Settings

    package init(
        client: S3Client, bucket: String, key: String, contentType: String? = nil, metadata: [String: String] = [:],
        settings: Settings = Settings()
    ) {
        self.client = client
        self.bucket = bucket
        self.key = key
        self.contentType = contentType
        self.metadata = metadata
        self.settings = settings
    }

    /// The part size for a body of `length` bytes (when known): the setting, grown to a whole
    /// number of MiB when 10,000 parts of it would not hold the body.
    package static func partSize(for length: Int64?, setting: Int) -> Int {
        guard let length else { return setting }
        let parts = Int64(S3Client.MultipartLimits.maximumParts)
        guard length > Int64(setting) * parts else { return setting }
        let needed = (length + parts - 1) / parts
        let mib = Int64(1 << 20)
        return Int((needed + mib - 1) / mib * mib)
    }

    /// Uploads everything `source` yields.
    /// - Throws: `AWSError`; `.invalidRequest` for bad settings or more than 10,000 parts,
    ///   `.transport` with `.requestBodyFailed` when the source throws. The upload is aborted first.
    package func upload(_ source: HTTPBodyStream) async throws(AWSError) -> S3PutResult {
        guard settings.partSize >= S3Client.MultipartLimits.minimumPartSize,
            settings.partSize <= S3Client.MultipartLimits.maximumPartSize
        else {
            throw AWSError.invalidRequest("the part size must be 5 MiB to 5 GiB (got \(settings.partSize) bytes)")
        }
        guard settings.maxPartsInFlight >= 1 else { throw AWSError.invalidRequest("at least one part must be in flight") }
        let partSize = Self.partSize(for: source.length, setting: settings.partSize)
        if let length = source.length, length > Int64(partSize) * Int64(S3Client.MultipartLimits.maximumParts) {
            throw AWSError.invalidRequest("\(length) bytes do not fit in 10,000 parts of 5 GiB")
        }
        var reader = PartReader(source: source, partSize: partSize, where: "\(S3ObjectRef(bucket: bucket, key: key))")
        let first = try await reader.nextPart()
        if reader.ended, (first?.count ?? 0) <= partSize {
            // Small enough for one PutObject.
            return try await client.putObject(
                bucket: bucket, key: key, body: first ?? [], contentType: contentType, metadata: metadata)
        }
        let uploadId = try await client.createMultipartUpload(bucket: bucket, key: key, contentType: contentType, metadata: metadata)
        let client = self.client, bucket = self.bucket, key = self.key
        do {
            var pending = first
            var partNumber = 0
            let parts = try await S3Client.runParts(
                limit: settings.maxPartsInFlight,
                produce: { () async throws(AWSError) -> (partNumber: Int, job: [UInt8])? in
                    let bytes: [UInt8]?
                    if let held = pending {
                        bytes = held
                        pending = nil
                    } else {
                        bytes = try await reader.nextPart()
                    }
                    guard let bytes else { return nil }
                    partNumber += 1
                    guard partNumber <= S3Client.MultipartLimits.maximumParts else {
                        throw AWSError.invalidRequest(
                            "the upload needs more than 10,000 parts of \(partSize) bytes; raise the part size")
                    }
                    return (partNumber, bytes)
                },
                work: { (number, bytes) throws(AWSError) in
                    try await client.uploadPart(bucket: bucket, key: key, uploadId: uploadId, partNumber: number, body: bytes)
                })
            return try await client.completeMultipartUpload(bucket: bucket, key: key, uploadId: uploadId, parts: parts)
        } catch {
            await client.abandon(bucket: bucket, key: key, uploadId: uploadId)
            throw error
        }
    }
}

/// Cuts a pull stream into parts of exactly `partSize` bytes (the last one shorter).
struct PartReader {
    let source: HTTPBodyStream
    let partSize: Int
    let location: String
    var carry: [UInt8] = []
    private(set) var ended = false

    init(source: HTTPBodyStream, partSize: Int, where location: String) {
        self.source = source
        self.partSize = partSize
        self.location = location
    }

    /// The next part, or `nil` when the stream has nothing more.
    mutating func nextPart() async throws(AWSError) -> [UInt8]? {
        var part = carry
        carry = []
        part.reserveCapacity(partSize)
        while part.count < partSize, !ended {
            let chunk: [UInt8]?
            do {
                chunk = try await source.next()
            } catch {
                throw AWSError.transport(HTTPError(.requestBodyFailed, url: "", detail: "reading the data for \(location) failed: \(error)"))
            }
            guard let chunk else {
                ended = true
                break
            }
            let room = partSize - part.count
            if chunk.count <= room {
                part.append(contentsOf: chunk)
            } else {
                part.append(contentsOf: chunk[..<room])
                carry = Array(chunk[room...])
            }
        }
        if part.isEmpty, ended { return nil }
        // Look ahead so that `ended` is known once the last full part is handed out.
        if carry.isEmpty, !ended, part.count == partSize {
            do {
                if let chunk = try await source.next() { carry = chunk } else { ended = true }
            } catch {
                throw AWSError.transport(HTTPError(.requestBodyFailed, url: "", detail: "reading the data for \(location) failed: \(error)"))
            }
        }
        return part
    }
}
