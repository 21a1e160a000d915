package import AWSCore
import HTTPTransport
import XMLCodec

extension S3Client {
    /// The largest object CopyObject can copy in one call.
    package static let singleCopyLimit: Int64 = 5 << 30

    /// CopyObject, server-side, keeping the source's metadata and content type
    /// (`x-amz-metadata-directive: COPY`), or, when `replacingMetadata` is given, writing that user
    /// metadata and `contentType` instead (`REPLACE`). Objects above 5 GiB need `copy(from:to:)`.
    package func copyObject(
        from source: S3ObjectRef, to destination: S3ObjectRef, ifMatch: String? = nil,
        replacingMetadata: [String: String]? = nil, contentType: String? = nil
    ) async throws(AWSError) -> S3PutResult {
        var headers = try Self.copySourceHeaders(source)
        if let replacingMetadata {
            headers.add("x-amz-metadata-directive", "REPLACE")
            for field in Self.objectHeaders(contentType: contentType, metadata: replacingMetadata) {
                headers.add(field.name, field.value)
            }
        } else {
            headers.add("x-amz-metadata-directive", "COPY")
        }
        if let ifMatch { headers.add("x-amz-copy-source-if-match", ifMatch) }
        let response = try await client.send(request("PUT", bucket: destination.bucket, key: destination.key, headers: headers))
        let root = try Self.parseXMLCheckingError(response, "CopyObject")
        return S3PutResult(etag: root.childText("ETag"), versionId: response.headers["x-amz-version-id"])
    }

    /// Copies an object of any size server-side: one CopyObject up to `multipartThreshold`, above it
    /// a multipart upload of UploadPartCopy parts (`partSize` each, `maxPartsInFlight` at a time),
    /// created with the source's content type and metadata so that they are kept either way. A
    /// failed multipart copy is aborted.
    ///
    /// - Parameters:
    ///   - multipartThreshold: 5 GiB, CopyObject's limit; lower it only to exercise the multipart path.
    ///   - partSize: bytes per copied part, at least 5 MiB; grown when 10,000 parts would not do.
    ///   - extraMetadata: user metadata added to (or replacing entries of) the source's on the copy.
    ///   - sourceInfo: the source's HeadObject answer when the caller already has it (saves a request).
    package func copy(
        from source: S3ObjectRef, to destination: S3ObjectRef, multipartThreshold: Int64 = S3Client.singleCopyLimit,
        partSize: Int = 512 << 20, maxPartsInFlight: Int = 4, extraMetadata: [String: String] = [:],
        sourceInfo: S3ObjectInfo? = nil
    ) async throws(AWSError) -> S3PutResult {
        guard multipartThreshold <= Self.singleCopyLimit else {
            throw AWSError.invalidRequest("CopyObject cannot copy more than 5 GiB; the threshold must not be higher")
        }
        guard partSize >= MultipartLimits.minimumPartSize, partSize <= MultipartLimits.maximumPartSize else {
            throw AWSError.invalidRequest("the part size must be 5 MiB to 5 GiB (got \(partSize) bytes)")
        }
        let info: S3ObjectInfo
        if let sourceInfo {
            info = sourceInfo
        } else {
            info = try await headObject(bucket: source.bucket, key: source.key, versionId: source.versionId)
        }
        var metadata = info.metadata
        for (name, value) in extraMetadata { metadata[name] = value }
        if info.objectSize <= multipartThreshold {
            return try await copyObject(
                from: source, to: destination, ifMatch: info.etag,
                replacingMetadata: extraMetadata.isEmpty ? nil : metadata, contentType: info.contentType)
        }
        let size = info.objectSize
        let part = Int64(S3MultipartUpload.partSize(for: size, setting: partSize))
        let uploadId = try await createMultipartUpload(
            bucket: destination.bucket, key: destination.key, contentType: info.contentType, metadata: metadata)
        let client = self
        // Pin the copy to the version that was measured.
        var pinned = source
        if pinned.versionId == nil { pinned.versionId = info.versionId }
        let pinnedSource = pinned
        do {
            var offset: Int64 = 0
            var number = 0
            let parts = try await Self.runParts(
                limit: max(1, maxPartsInFlight),
                produce: { () throws(AWSError) -> (partNumber: Int, job: ClosedRange<Int64>)? in
                    guard offset < size else { return nil }
                    let range = offset...(min(offset + part, size) - 1)
                    offset = range.upperBound + 1
                    number += 1
                    return (number, range)
                },
                work: { (number, range) throws(AWSError) in
                    try await client.uploadPartCopy(
                        bucket: destination.bucket, key: destination.key, uploadId: uploadId, partNumber: number,
                        source: pinnedSource, range: range)
                })
            return try await completeMultipartUpload(
                bucket: destination.bucket, key: destination.key, uploadId: uploadId, parts: parts)
        } catch {
            await abandon(bucket: destination.bucket, key: destination.key, uploadId: uploadId)
            throw error
        }
    }
}
