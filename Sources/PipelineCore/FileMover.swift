package import AWSClients
import AWSCore

/// How a move ended.
package enum MoveOutcome: Sendable, Hashable {
    /// Copied, verified, and the source deleted.
    case moved(destination: S3ObjectInfo, multipart: Bool)
    /// The source was already gone and the destination is there and verified: a repeated move
    /// (after a crash between copy and delete) that is complete.
    case alreadyMoved(destination: S3ObjectInfo)

    package var destination: S3ObjectInfo {
        switch self {
        case .moved(let info, _), .alreadyMoved(let info): info
        }
    }
}

/// A verified copy: the first part of a move.
package enum VerifiedCopy: Sendable, Hashable {
    /// Copied and verified; the source is still to be deleted (`FileMover.deleteSource`).
    case copied(destination: S3ObjectInfo, multipart: Bool)
    /// The source was already gone and the destination holds its verified copy: an earlier move
    /// that is complete.
    case alreadyMoved(destination: S3ObjectInfo)
}

/// Moves objects server-side: copy (CopyObject, or UploadPartCopy above the threshold), verify
/// the destination (a single-part copy by CopyObject's answer carrying the source's ETag; else
/// HeadObject: same size, and the same ETag for a single-part copy or the `pipeline-source-etag`
/// metadata for a multipart one), then delete the source. Nothing is
/// deleted before its copy is verified, and a move repeated after a crash completes.
package struct FileMover: Sendable {
    package let s3: S3Client
    /// Objects larger than this are copied in parts (`MULTIPART_COPY_THRESHOLD_MB`, default 5 GiB).
    package let multipartThreshold: Int64
    /// Bytes per copied part.
    package let partSize: Int

    package init(s3: S3Client, multipartThreshold: Int64 = S3Client.singleCopyLimit, partSize: Int = 512 << 20) {
        self.s3 = s3
        self.multipartThreshold = min(multipartThreshold, S3Client.singleCopyLimit)
        self.partSize = max(partSize, S3Client.MultipartLimits.minimumPartSize)
    }

    /// Moves `source` to `destination`.
    /// - Parameters:
    ///   - expectedETag: the version of the source to move (from the event); a source with another
    ///     ETag is not touched (`.sourceChanged`), and a destination is only accepted as a past
    ///     move when its `pipeline-source-etag` is this.
    ///   - metadata: user metadata written on the destination besides the source's (the
    ///     `pipeline-*` fields); `pipeline-source-etag` is always set.
    ///   - sourceInfo: the source's HeadObject answer when the caller already has it.
    /// - Throws: `PipelineCoreError` `.sourceMissing`, `.sourceChanged`, `.copyFailed`,
    ///   `.verificationFailed`, `.deleteFailed` or `.s3`.
    package func move(
        from source: S3ObjectRef, to destination: S3ObjectRef, expectedETag: String? = nil, metadata: [String: String] = [:],
        sourceInfo: S3ObjectInfo? = nil
    ) async throws(PipelineCoreError) -> MoveOutcome {
        switch try await copyVerified(from: source, to: destination, expectedETag: expectedETag, metadata: metadata, sourceInfo: sourceInfo) {
        case .alreadyMoved(let done):
            return .alreadyMoved(destination: done)
        case .copied(let copied, let multipart):
            try await deleteSource(source, copiedTo: destination)
            return .moved(destination: copied, multipart: multipart)
        }
    }

    /// Deletes the source of a verified copy (the last step of a move).
    /// - Throws: `PipelineCoreError` `.deleteFailed`.
    package func deleteSource(_ source: S3ObjectRef, copiedTo destination: S3ObjectRef) async throws(PipelineCoreError) {
        do {
            try await s3.deleteObject(bucket: source.bucket, key: source.key, versionId: source.versionId)
        } catch {
            throw PipelineCoreError(.deleteFailed, "the copy at \(destination) is verified but deleting \(source) failed", aws: error)
        }
    }

    /// A move without its last step: copies `source` to `destination` and verifies the copy, or
    /// finds an earlier move complete; the source is left for `deleteSource`, so that a caller
    /// can delete it beside its own next write. Parameters and errors as `move`'s, without
    /// `.deleteFailed`.
    package func copyVerified(
        from source: S3ObjectRef, to destination: S3ObjectRef, expectedETag: String? = nil, metadata: [String: String] = [:],
        sourceInfo: S3ObjectInfo? = nil
    ) async throws(PipelineCoreError) -> VerifiedCopy {
        let expected = expectedETag.map(FileId.unquoted)
        var info = sourceInfo
        if info == nil {
            do {
                info = try await s3.headObject(bucket: source.bucket, key: source.key, versionId: source.versionId)
            } catch {
                guard error.isS3NotFound else { throw PipelineCoreError(.s3, "HeadObject \(source) failed", aws: error) }
            }
        }
        guard let info else {
            // The source is gone: a finished earlier move, or a file that vanished.
            if let done = try await verifiedDestination(destination, sourceETag: expected, sourceSize: nil) {
                return .alreadyMoved(destination: done)
            }
            throw PipelineCoreError(.sourceMissing, "\(source) does not exist and \(destination) holds no verified copy of it")
        }
        let sourceETag = FileId.unquoted(info.etag ?? "")
        if let expected, !expected.isEmpty, sourceETag != expected {
            throw PipelineCoreError(
                .sourceChanged, "\(source) now has ETag \(sourceETag), not \(expected): it was replaced; the move is left to its own event")
        }
        var ours = metadata
        ours[PipelineMetadata.sourceETag] = PipelineMetadata.encode(sourceETag)
        // Within S3's 2 KB of user metadata, or S3 refuses the copy.
        let fitted = PipelineMetadata.fitting(ours, beside: info.metadata)
        let extra = fitted.ours
        var written = info
        written.metadata = fitted.source
        let multipart = info.objectSize > multipartThreshold
        let copy: S3PutResult
        do {
            copy = try await s3.copy(
                from: source, to: destination, multipartThreshold: multipartThreshold, partSize: partSize, extraMetadata: extra,
                sourceInfo: written)
        } catch {
            if error.isS3PreconditionFailed {
                throw PipelineCoreError(.sourceChanged, "\(source) changed while it was being copied", aws: error)
            }
            if error.isS3NotFound, let done = try await verifiedDestination(destination, sourceETag: sourceETag, sourceSize: info.objectSize) {
                // Another invocation finished the same move meanwhile.
                return .alreadyMoved(destination: done)
            }
            throw PipelineCoreError(.copyFailed, "copying \(source) to \(destination) failed", aws: error)
        }
        let copied: S3ObjectInfo
        if !multipart, let confirmed = Self.confirmedByCopy(copy, source: written, metadata: extra) {
            copied = confirmed
        } else if let verified = try await verifiedDestination(
            destination, sourceETag: sourceETag, sourceSize: info.objectSize, singlePartETag: multipart ? nil : info.etag)
        {
            copied = verified
        } else {
            throw PipelineCoreError(
                .verificationFailed, "the copy at \(destination) does not match \(source) (size or ETag differ); the source is kept")
        }
        return .copied(destination: copied, multipart: multipart)
    }

    /// The copy as CopyObject's answer describes it, when that answer alone verifies it: a
    /// single-part source's ETag is the MD5 of its bytes, so a copy answered with the same ETag
    /// holds the same bytes (hence the same size), and its metadata is what the same request wrote.
    /// `nil` (verify with HeadObject) for a multipart source (`…-N`) or any other ETag (SSE-KMS).
    package static func confirmedByCopy(_ copy: S3PutResult, source: S3ObjectInfo, metadata extra: [String: String]) -> S3ObjectInfo? {
        let sourceETag = FileId.unquoted(source.etag ?? "")
        guard !sourceETag.isEmpty, !sourceETag.contains("-"), let copied = copy.etag, FileId.unquoted(copied) == sourceETag else {
            return nil
        }
        var metadata = source.metadata
        for (name, value) in extra { metadata[name] = value }
        return S3ObjectInfo(
            contentLength: source.objectSize, objectSize: source.objectSize, etag: copied, contentType: source.contentType,
            metadata: metadata, versionId: copy.versionId)
    }

    /// The destination's head when it is a verified copy: its `pipeline-source-etag` is the
    /// source's ETag, its size the source's (when known), and for a single-part copy of a
    /// single-part source its ETag the source's.
    package func verifiedDestination(
        _ destination: S3ObjectRef, sourceETag: String?, sourceSize: Int64?, singlePartETag: String? = nil
    ) async throws(PipelineCoreError) -> S3ObjectInfo? {
        let head: S3ObjectInfo
        do {
            head = try await s3.headObject(bucket: destination.bucket, key: destination.key)
        } catch {
            if error.isS3NotFound { return nil }
            throw PipelineCoreError(.s3, "HeadObject \(destination) failed", aws: error)
        }
        if let sourceSize, head.objectSize != sourceSize { return nil }
        let recorded = head.metadata[PipelineMetadata.sourceETag].map(PipelineMetadata.decode)
        if let sourceETag, !sourceETag.isEmpty {
            guard recorded == sourceETag else { return nil }
        } else if recorded == nil {
            return nil
        }
        // A single-part source copied in one CopyObject keeps its ETag (the MD5 of the bytes);
        // a multipart source's ETag (`…-N`) is not the copy's, so the metadata stands for it.
        if let singlePartETag {
            let plain = FileId.unquoted(singlePartETag)
            if !plain.contains("-"), FileId.unquoted(head.etag ?? "") != plain { return nil }
        }
        return head
    }
}
