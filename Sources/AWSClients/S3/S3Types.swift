package import AWSCore
package import HTTPTransport
package import Primitives

/// An object's location: bucket, key and optionally a version.
package struct S3ObjectRef: Sendable, Hashable, CustomStringConvertible {
    package var bucket: String
    package var key: String
    package var versionId: String?

    package init(bucket: String, key: String, versionId: String? = nil) {
        self.bucket = bucket
        self.key = key
        self.versionId = versionId
    }

    package var description: String { "s3://\(bucket)/\(key)" + (versionId.map { "?versionId=\($0)" } ?? "") }
}

/// What HeadObject (and the head of GetObject) says about an object.
package struct S3ObjectInfo: Sendable, Hashable {
    /// The bytes in this response (the whole object, or the range asked for).
    package var contentLength: Int64
    /// The size of the whole object (from `Content-Range` for ranged reads).
    package var objectSize: Int64
    /// The ETag as S3 sends it, quotes included.
    package var etag: String?
    package var lastModified: Timestamp?
    package var contentType: String?
    /// User metadata (`x-amz-meta-*`), names lower-cased and without the prefix.
    package var metadata: [String: String]
    package var versionId: String?
    /// The `Content-Range` of a ranged read (`bytes 0-99/1234`).
    package var contentRange: String?

    package init(
        contentLength: Int64, objectSize: Int64, etag: String? = nil, lastModified: Timestamp? = nil,
        contentType: String? = nil, metadata: [String: String] = [:], versionId: String? = nil,
        contentRange: String? = nil
    ) {
        self.contentLength = contentLength
        self.objectSize = objectSize
        self.etag = etag
        self.lastModified = lastModified
        self.contentType = contentType
        self.metadata = metadata
        self.versionId = versionId
        self.contentRange = contentRange
    }

    /// Reads the response headers of HeadObject or GetObject.
    package init(headers: HTTPHeaders) throws(AWSError) {
        guard let lengthText = headers["Content-Length"], let length = Int64(lengthText), length >= 0 else {
            throw AWSError.invalidResponse("S3 answered without a valid Content-Length")
        }
        contentLength = length
        objectSize = length
        contentRange = headers["Content-Range"]
        if let range = contentRange {
            // bytes first-last/total
            guard let slash = range.lastIndex(of: "/"), let total = Int64(range[range.index(after: slash)...]) else {
                throw AWSError.invalidResponse("S3 answered with an unreadable Content-Range '\(range)'")
            }
            objectSize = total
        }
        etag = headers["ETag"]
        lastModified = headers["Last-Modified"].flatMap(HTTPDate.parse)
        contentType = headers["Content-Type"]
        versionId = headers["x-amz-version-id"]
        var metadata: [String: String] = [:]
        for field in headers {
            let name = field.name.lowercased()
            if name.hasPrefix("x-amz-meta-") { metadata[String(name.dropFirst(11))] = field.value }
        }
        self.metadata = metadata
    }
}

/// A streamed GetObject: what the head said, and the body to read.
package struct S3GetObjectOutput: Sendable {
    package var info: S3ObjectInfo
    /// The object's bytes, chunk by chunk, with back-pressure. Dropping it early cancels the read.
    package var body: HTTPResponseBody
}

/// What a write (PutObject, CompleteMultipartUpload, CopyObject) returns.
package struct S3PutResult: Sendable, Hashable {
    package var etag: String?
    package var versionId: String?
    package init(etag: String?, versionId: String? = nil) {
        self.etag = etag
        self.versionId = versionId
    }
}

/// A part uploaded (or copied) into a multipart upload.
package struct S3CompletedPart: Sendable, Hashable {
    package var partNumber: Int
    package var etag: String
    package init(partNumber: Int, etag: String) {
        self.partNumber = partNumber
        self.etag = etag
    }
}

/// One object in a listing.
package struct S3ObjectSummary: Sendable, Hashable {
    package var key: String
    package var size: Int64
    package var etag: String?
    package var lastModified: Timestamp?
    package var storageClass: String?
}

/// One page of ListObjectsV2.
package struct S3ListPage: Sendable, Hashable {
    package var objects: [S3ObjectSummary]
    /// Common prefixes, when a delimiter was given.
    package var commonPrefixes: [String]
    package var isTruncated: Bool
    /// Pass this to get the next page; `nil` on the last one.
    package var nextContinuationToken: String?
    package var keyCount: Int
}

/// A multipart upload still open.
package struct S3MultipartUploadSummary: Sendable, Hashable {
    package var key: String
    package var uploadId: String
}

/// The outcome of DeleteObjects: which keys went and which failed, with S3's code for each.
package struct S3DeleteObjectsResult: Sendable, Hashable {
    package struct Failure: Sendable, Hashable {
        package var key: String
        package var code: String
        package var message: String
    }
    package var deleted: [String]
    package var failed: [Failure]
}

/// One queue target of a bucket's event notifications (S3 → SQS).
package struct S3QueueNotification: Sendable, Hashable {
    package var id: String?
    /// The queue's ARN (`arn:aws:sqs:<region>:<account>:<name>`).
    package var queueArn: String
    /// Event names such as `s3:ObjectCreated:*` or `s3:ObjectRemoved:Delete`.
    package var events: [String]
    package var prefix: String?
    package var suffix: String?

    package init(id: String? = nil, queueArn: String, events: [String], prefix: String? = nil, suffix: String? = nil) {
        self.id = id
        self.queueArn = queueArn
        self.events = events
        self.prefix = prefix
        self.suffix = suffix
    }
}

/// The S3 error codes callers branch on. Unknown codes stay readable through `AWSError.serviceCode`.
package enum S3ErrorCode: String, Sendable, Hashable {
    case noSuchKey = "NoSuchKey"
    case noSuchBucket = "NoSuchBucket"
    case noSuchUpload = "NoSuchUpload"
    /// HeadObject of a missing object: a 404 with no body.
    case notFound = "NotFound"
    case preconditionFailed = "PreconditionFailed"
    case invalidRange = "InvalidRange"
    case entityTooSmall = "EntityTooSmall"
    case invalidPart = "InvalidPart"
    case accessDenied = "AccessDenied"
    case signatureDoesNotMatch = "SignatureDoesNotMatch"
    case invalidAccessKeyId = "InvalidAccessKeyId"
    case bucketAlreadyOwnedByYou = "BucketAlreadyOwnedByYou"
    case bucketAlreadyExists = "BucketAlreadyExists"
}

extension AWSError {
    /// The S3 error code, when the service answered with one this client knows.
    package var s3Code: S3ErrorCode? { serviceCode.flatMap(S3ErrorCode.init(rawValue:)) }

    /// Whether S3 said the object, bucket or upload does not exist (`NoSuchKey`, `NoSuchBucket`,
    /// `NoSuchUpload`, or a HeadObject 404).
    package var isS3NotFound: Bool {
        switch s3Code {
        case .noSuchKey, .noSuchBucket, .noSuchUpload, .notFound: true
        default: false
        }
    }

    /// Whether a conditional request (`If-Match`, `If-None-Match`) failed.
    package var isS3PreconditionFailed: Bool { s3Code == .preconditionFailed }
}

/// HTTP dates (RFC 9110 IMF-fixdate, `Wed, 21 Oct 2015 07:28:00 GMT`), as S3 sends `Last-Modified`.
enum HTTPDate {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func parse(_ text: String) -> Timestamp? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]), (1...31).contains(day),
            let monthIndex = months.firstIndex(where: { $0 == parts[2] }), let year = Int(parts[3])
        else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2]),
            (0..<24).contains(hour), (0..<60).contains(minute), (0...60).contains(second)
        else { return nil }
        let days = Timestamp.days(fromCivil: year, monthIndex + 1, day)
        return Timestamp(secondsSinceEpoch: days * 86_400 + Int64(hour * 3600 + minute * 60 + second))
    }
}
