package import AWSCore
import AWSSigV4
package import HTTPTransport
package import Primitives
import XMLCodec

/// An S3 client (REST-XML) on `AWSClient`: object reads streamed, writes from memory or streamed
/// with chunk signing, multipart uploads and copies, listings, bucket set-up for local stacks.
///
/// Addressing: path-style (`/bucket/key`) on custom endpoints; virtual-hosted
/// (`bucket.s3.<region>.amazonaws.com`) on AWS for bucket names that are valid host labels. Keys
/// go on the wire with every byte outside `A-Za-z0-9-._~/` percent-encoded, which is also the
/// canonical path S3 signs (no normalisation, no double encoding).
package struct S3Client: AWSServiceClient {
    package let client: AWSClient

    package static let service = AWSService.s3

    /// - Parameter client: an `AWSClient` for `.s3`.
    package init(client: AWSClient) {
        Self.requireService(of: client)
        self.client = client
    }

    /// The XML namespace of S3 request bodies.
    static let xmlns = "http://s3.amazonaws.com/doc/2006-03-01/"

    // MARK: Requests

    /// Whether `bucket` is addressed virtual-hosted style.
    package func usesVirtualHost(_ bucket: String) -> Bool {
        guard !client.endpoint.isCustom else { return false }
        let host = client.endpoint.host
        guard host.hasSuffix(".amazonaws.com") || host.hasSuffix(".amazonaws.com.cn") else { return false }
        // A DNS label: 3-63 lower-case letters, digits and hyphens, no dots (TLS wildcard certificates
        // cover one label only).
        let bytes = Array(bucket.utf8)
        guard (3...63).contains(bytes.count), bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else {
            return false
        }
        return bytes.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
    }

    /// The request for `bucket` (and `key`), addressed as this endpoint needs.
    package func request(
        _ method: String,
        bucket: String,
        key: String? = nil,
        query: [(String, String)] = [],
        headers: HTTPHeaders = [:],
        body: HTTPRequestBody = .empty,
        payload: AWSRequest.Payload = .signedHash,
        options: HTTPRequestOptions? = nil
    ) throws(AWSError) -> AWSRequest {
        try Self.validate(bucket: bucket)
        var encodedKey = ""
        if let key {
            guard !key.isEmpty else { throw AWSError.invalidRequest("an S3 object key must not be empty") }
            guard key.utf8.count <= 1024 else {
                throw AWSError.invalidRequest("an S3 object key is at most 1024 bytes (got \(key.utf8.count))")
            }
            encodedKey = PercentEncoding.encode(key, allowing: .unreservedAndSlash)
        }
        var request = AWSRequest(method: method, query: query, headers: headers, body: body, payload: payload, options: options)
        if usesVirtualHost(bucket) {
            request.hostOverride = "\(bucket).\(client.endpoint.host)"
            request.path = "/" + encodedKey
        } else {
            request.path = "/" + PercentEncoding.encode(bucket) + (key == nil ? "" : "/" + encodedKey)
        }
        return request
    }

    static func validate(bucket: String) throws(AWSError) {
        guard !bucket.isEmpty, bucket.utf8.count <= 255, !bucket.contains("/") else {
            throw AWSError.invalidRequest("'\(bucket)' is not an S3 bucket name")
        }
    }

    /// Parses an XML response body, or fails with `invalidResponse` naming the call.
    static func parseXML(_ body: [UInt8], _ operation: String) throws(AWSError) -> XMLElement {
        do {
            return try XMLElement.parse(body)
        } catch {
            throw AWSError.invalidResponse("S3 \(operation) answered with unreadable XML: \(error)")
        }
    }

    /// CopyObject, UploadPartCopy and CompleteMultipartUpload can answer 200 and then an `<Error>`
    /// body; that is a failure.
    static func parseXMLCheckingError(_ response: HTTPResponse, _ operation: String) throws(AWSError) -> XMLElement {
        let root = try parseXML(response.body, operation)
        if root.localName == "Error" {
            var error = AWSServiceError.from(status: response.status, headers: response.headers, body: response.body)
            if error.status < 300 { error.status = 500 }
            throw AWSError.service(error)
        }
        return root
    }

    /// Metadata and content type as request headers.
    static func objectHeaders(contentType: String?, metadata: [String: String]) -> HTTPHeaders {
        var headers = HTTPHeaders()
        if let contentType { headers.add("Content-Type", contentType) }
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) { headers.add("x-amz-meta-\(name)", value) }
        return headers
    }

    static func base64MD5(_ bytes: [UInt8]) -> String { Base64.encode(MD5.digest(bytes)) }

    // MARK: Objects

    /// GetObject, streamed: returns once the head has arrived; read `body` for the bytes.
    ///
    /// - Parameters:
    ///   - range: the bytes to read, inclusive (`Range: bytes=first-last`); `nil` for all.
    ///   - ifMatch: only read this version of the object (fails with `PreconditionFailed`).
    /// - Throws: `AWSError`; `isS3NotFound` for a missing key or bucket.
    package func getObject(
        bucket: String, key: String, range: ClosedRange<Int64>? = nil, ifMatch: String? = nil, versionId: String? = nil
    ) async throws(AWSError) -> S3GetObjectOutput {
        var headers = HTTPHeaders()
        if let range {
            guard range.lowerBound >= 0 else { throw AWSError.invalidRequest("a byte range cannot start before 0") }
            headers.add("Range", "bytes=\(range.lowerBound)-\(range.upperBound)")
        }
        if let ifMatch { headers.add("If-Match", ifMatch) }
        let query = versionId.map { [("versionId", $0)] } ?? []
        let response = try await client.stream(request("GET", bucket: bucket, key: key, query: query, headers: headers))
        let info: S3ObjectInfo
        do {
            info = try S3ObjectInfo(headers: response.headers)
        } catch {
            response.body.cancel()
            throw error
        }
        return S3GetObjectOutput(info: info, body: response.body)
    }

    /// Reads `range` of an object into memory (for sampling the start of a file). A range past
    /// the end is cut short by S3; an empty object gives no bytes.
    package func readBytes(bucket: String, key: String, range: ClosedRange<Int64>, maxBytes: Int = 64 << 20)
        async throws(AWSError) -> [UInt8]
    {
        guard range.count <= maxBytes else {
            throw AWSError.invalidRequest("the range holds \(range.count) bytes, more than the \(maxBytes) allowed")
        }
        let output: S3GetObjectOutput
        do {
            output = try await getObject(bucket: bucket, key: key, range: range)
        } catch {
            // An unsatisfiable range: the object is empty (or shorter than the range's start).
            if error.s3Code == .invalidRange { return [] }
            throw error
        }
        do {
            return try await output.body.collect(upTo: maxBytes)
        } catch {
            throw AWSError.transport(error)
        }
    }

    /// The first `count` bytes of an object (fewer when it is shorter).
    package func readPrefix(bucket: String, key: String, count: Int) async throws(AWSError) -> [UInt8] {
        guard count > 0 else { return [] }
        return try await readBytes(bucket: bucket, key: key, range: 0...Int64(count - 1), maxBytes: count)
    }

    /// HeadObject.
    /// - Throws: `AWSError`; a missing object is a 404 without a body, reported as code `NotFound`
    ///   (`isS3NotFound`).
    package func headObject(bucket: String, key: String, versionId: String? = nil) async throws(AWSError) -> S3ObjectInfo {
        let query = versionId.map { [("versionId", $0)] } ?? []
        do {
            let response = try await client.send(request("HEAD", bucket: bucket, key: key, query: query))
            return try S3ObjectInfo(headers: response.headers)
        } catch {
            if case .service(var serviceError) = error, serviceError.status == 404, serviceError.code == "Http404" {
                serviceError.code = S3ErrorCode.notFound.rawValue
                if serviceError.message.isEmpty { serviceError.message = "no object \(S3ObjectRef(bucket: bucket, key: key))" }
                throw AWSError.service(serviceError)
            }
            throw error
        }
    }

    /// PutObject from memory; the body's SHA-256 is signed.
    /// - Parameter ifNoneMatch: `"*"` writes only if no object has the key (else `PreconditionFailed`).
    package func putObject(
        bucket: String, key: String, body: [UInt8], contentType: String? = nil, metadata: [String: String] = [:],
        ifNoneMatch: String? = nil
    ) async throws(AWSError) -> S3PutResult {
        var headers = Self.objectHeaders(contentType: contentType, metadata: metadata)
        if let ifNoneMatch { headers.add("If-None-Match", ifNoneMatch) }
        let response = try await client.send(request("PUT", bucket: bucket, key: key, headers: headers, body: .bytes(body)))
        return S3PutResult(etag: response.headers["ETag"], versionId: response.headers["x-amz-version-id"])
    }

    /// PutObject from a stream of known length, sent `aws-chunked` with every chunk signed
    /// (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`), so nothing is held in memory but one chunk. A streamed
    /// body cannot be replayed, so this call is not retried; use `S3MultipartUpload` for large or
    /// unknown-length data.
    package func putObject(
        bucket: String, key: String, stream: HTTPBodyStream, contentType: String? = nil,
        metadata: [String: String] = [:], chunkSize: Int = 64 << 10
    ) async throws(AWSError) -> S3PutResult {
        guard stream.length != nil else {
            throw AWSError.invalidRequest("a streamed PutObject needs the body's length; use S3MultipartUpload for unknown lengths")
        }
        let headers = Self.objectHeaders(contentType: contentType, metadata: metadata)
        let response = try await client.send(
            request("PUT", bucket: bucket, key: key, headers: headers, body: .stream(stream), payload: .chunkSigned(chunkSize: chunkSize)))
        return S3PutResult(etag: response.headers["ETag"], versionId: response.headers["x-amz-version-id"])
    }

    /// DeleteObject (succeeds for a key that does not exist, as S3 does).
    package func deleteObject(bucket: String, key: String, versionId: String? = nil) async throws(AWSError) {
        let query = versionId.map { [("versionId", $0)] } ?? []
        _ = try await client.send(request("DELETE", bucket: bucket, key: key, query: query))
    }

    /// DeleteObjects: up to 1,000 keys in one call; each key's outcome is reported.
    package func deleteObjects(bucket: String, keys: [String]) async throws(AWSError) -> S3DeleteObjectsResult {
        guard !keys.isEmpty else { return S3DeleteObjectsResult(deleted: [], failed: []) }
        guard keys.count <= 1000 else { throw AWSError.invalidRequest("DeleteObjects takes at most 1000 keys (got \(keys.count))") }
        var xml = "<Delete xmlns=\"\(Self.xmlns)\">"
        for key in keys {
            guard !key.isEmpty else { throw AWSError.invalidRequest("an S3 object key must not be empty") }
            xml += "<Object>\(XMLWriter.element("Key", key))</Object>"
        }
        xml += "<Quiet>false</Quiet></Delete>"
        let body = Array(xml.utf8)
        let headers: HTTPHeaders = ["Content-Type": "application/xml", "Content-MD5": Self.base64MD5(body)]
        let response = try await client.send(
            request("POST", bucket: bucket, query: [("delete", "")], headers: headers, body: .bytes(body)))
        let root = try Self.parseXML(response.body, "DeleteObjects")
        return S3DeleteObjectsResult(
            deleted: root.children("Deleted").compactMap { $0.childText("Key") },
            failed: root.children("Error").map {
                S3DeleteObjectsResult.Failure(
                    key: $0.childText("Key") ?? "", code: $0.childText("Code") ?? "", message: $0.childText("Message") ?? "")
            })
    }

    // MARK: Buckets

    /// CreateBucket (with a location constraint outside us-east-1).
    package func createBucket(_ bucket: String) async throws(AWSError) {
        var body = HTTPRequestBody.empty
        if client.region != "us-east-1" {
            body = .bytes(
                Array(
                    "<CreateBucketConfiguration xmlns=\"\(Self.xmlns)\">\(XMLWriter.element("LocationConstraint", client.region))</CreateBucketConfiguration>"
                        .utf8))
        }
        _ = try await client.send(request("PUT", bucket: bucket, body: body))
    }

    /// PutBucketNotificationConfiguration with queue targets (S3 → SQS), replacing the bucket's
    /// whole notification configuration. An empty list switches notifications off.
    package func putBucketNotificationConfiguration(bucket: String, queues: [S3QueueNotification]) async throws(AWSError) {
        var xml = "<NotificationConfiguration xmlns=\"\(Self.xmlns)\">"
        for queue in queues {
            guard !queue.events.isEmpty else {
                throw AWSError.invalidRequest("a queue notification needs at least one event")
            }
            xml += "<QueueConfiguration>"
            if let id = queue.id { xml += XMLWriter.element("Id", id) }
            xml += XMLWriter.element("Queue", queue.queueArn)
            for event in queue.events { xml += XMLWriter.element("Event", event) }
            if queue.prefix != nil || queue.suffix != nil {
                xml += "<Filter><S3Key>"
                if let prefix = queue.prefix { xml += "<FilterRule><Name>prefix</Name>\(XMLWriter.element("Value", prefix))</FilterRule>" }
                if let suffix = queue.suffix { xml += "<FilterRule><Name>suffix</Name>\(XMLWriter.element("Value", suffix))</FilterRule>" }
                xml += "</S3Key></Filter>"
            }
            xml += "</QueueConfiguration>"
        }
        xml += "</NotificationConfiguration>"
        let body = Array(xml.utf8)
        let headers: HTTPHeaders = ["Content-Type": "application/xml", "Content-MD5": Self.base64MD5(body)]
        _ = try await client.send(request("PUT", bucket: bucket, query: [("notification", "")], headers: headers, body: .bytes(body)))
    }
}
