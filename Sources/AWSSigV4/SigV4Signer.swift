package import Primitives

/// Signs requests with AWS Signature Version 4 for one service in one region: in the
/// `Authorization` header (`sign`) or in the query string (`presign`). A value; copies share one
/// `SigningKeyCache`. Pass the time in: nothing here reads a clock.
package struct SigV4Signer: Sendable, CustomStringConvertible {
    /// The rules that differ between S3 and every other service.
    package struct Options: Sendable, Hashable {
        /// Percent-encode the (already encoded) path once more. Every service but S3.
        package var doubleEncodePath: Bool
        /// Remove `.`/`..` and empty path segments before encoding. Every service but S3.
        package var normalizePath: Bool
        /// Always send and sign `x-amz-content-sha256`. S3 requires it.
        package var alwaysSignContentSHA256: Bool
        /// Send `X-Amz-Security-Token` but leave it out of the signature (a few services, such as
        /// IoT, want the token added after signing).
        package var omitSessionTokenFromSignature: Bool

        package init(
            doubleEncodePath: Bool = true,
            normalizePath: Bool = true,
            alwaysSignContentSHA256: Bool = false,
            omitSessionTokenFromSignature: Bool = false
        ) {
            self.doubleEncodePath = doubleEncodePath
            self.normalizePath = normalizePath
            self.alwaysSignContentSHA256 = alwaysSignContentSHA256
            self.omitSessionTokenFromSignature = omitSessionTokenFromSignature
        }

        /// Every service but S3.
        package static let standard = Options()
        /// S3: the path is signed exactly as sent and `x-amz-content-sha256` is always signed.
        package static let s3 = Options(doubleEncodePath: false, normalizePath: false, alwaysSignContentSHA256: true)
    }

    /// The signing name (`s3`, `sqs`, `es`, ...).
    package let service: String
    package let region: String
    package let options: Options
    package let keyCache: SigningKeyCache

    package init(service: String, region: String, options: Options = .standard, keyCache: SigningKeyCache = SigningKeyCache()) {
        self.service = service
        self.region = region
        self.options = options
        self.keyCache = keyCache
    }

    /// A signer for S3 in `region`.
    package static func s3(region: String, keyCache: SigningKeyCache = SigningKeyCache()) -> SigV4Signer {
        SigV4Signer(service: "s3", region: region, options: .s3, keyCache: keyCache)
    }

    package var description: String { "SigV4Signer(service: \(service), region: \(region))" }

    /// The longest a presigned URL may live: seven days.
    package static let maximumExpiry = 604_800

    // MARK: Header signing

    /// Signs `request` in place. Adds `X-Amz-Security-Token` (when the credentials have a token),
    /// `X-Amz-Date`, `x-amz-content-sha256` (when asked, and always for S3) and `Authorization`,
    /// replacing any earlier copies of them, so a retried request can be signed again. The `host`
    /// header is signed from the URL's authority unless the request carries a `Host` header; the
    /// signer does not add one (the HTTP client sends it).
    ///
    /// - Parameters:
    ///   - request: the request; its `url` must be the exact wire URL.
    ///   - payload: the body's hash, or `.unsigned` / `.streaming`.
    ///   - date: the signing time.
    ///   - addContentSHA256Header: also send and sign `x-amz-content-sha256` (implied for S3).
    /// - Returns: the signature and the canonical forms it was computed from (the signature seeds
    ///   a `ChunkSigner` for `.streaming`).
    /// - Throws: `SigV4Error.Code.invalidURL` when the URL cannot be parsed.
    @discardableResult
    package func sign(
        _ request: inout SignableRequest,
        credentials: AWSCredentials,
        payload: PayloadSigning,
        date: Timestamp,
        addContentSHA256Header: Bool = false
    ) throws(SigV4Error) -> SigningResult {
        let sendContentSHA256 = addContentSHA256Header || options.alwaysSignContentSHA256
        let token = credentials.sessionToken
        if request.headers.contains(where: { Self.isReplacedHeader($0.name, token: token != nil, contentSHA256: sendContentSHA256) }) {
            request.headers.removeAll { Self.isReplacedHeader($0.name, token: token != nil, contentSHA256: sendContentSHA256) }
        }
        let amzDate = AmzDate(date)
        let signedToken = options.omitSessionTokenFromSignature ? nil : token
        let result = try signature(
            method: request.method, url: request.url, headers: request.headers, date: date, amzDate: amzDate,
            payload: payload, credentials: credentials, query: nil
        ) { writer in
            writer.addCanonicalHeader(name: "x-amz-date") { amzDate.append(to: &$0) }
            if let signedToken { writer.addCanonicalHeader(name: "x-amz-security-token") { $0.append(utf8: signedToken) } }
            if sendContentSHA256 { writer.addCanonicalHeader(name: "x-amz-content-sha256") { payload.append(to: &$0) } }
        }
        request.headers.reserveCapacity(request.headers.count + 4)
        if let token { request.headers.append((name: "X-Amz-Security-Token", value: token)) }
        request.headers.append((name: "X-Amz-Date", value: amzDate.string))
        if sendContentSHA256 { request.headers.append((name: "x-amz-content-sha256", value: payload.canonicalValue)) }
        request.headers.append((name: "Authorization", value: result.authorization(accessKeyId: credentials.accessKeyId)))
        return result
    }

    private static func isReplacedHeader(_ name: String, token: Bool, contentSHA256: Bool) -> Bool {
        switch name.utf8.count {
        case 13: equalsIgnoringASCIICase(name, "Authorization")
        case 10: equalsIgnoringASCIICase(name, "X-Amz-Date")
        case 20:
            (token && equalsIgnoringASCIICase(name, "X-Amz-Security-Token"))
                || (contentSHA256 && equalsIgnoringASCIICase(name, "x-amz-content-sha256"))
        default: false
        }
    }

    // MARK: Query signing

    /// A presigned URL for `request`: the signature and its parameters go in the query
    /// (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-SignedHeaders`, `X-Amz-Expires`,
    /// `X-Amz-Security-Token`, `X-Amz-Signature`, appended in that order). Every header of the
    /// request (but the never-signed ones) is signed and must be sent with the URL.
    ///
    /// - Parameters:
    ///   - expires: lifetime in seconds, 1 ... 604800.
    ///   - payload: `nil` means `.unsigned` for S3 and the empty body's hash for other services.
    /// - Throws: `SigV4Error` with `.invalidURL` or `.invalidExpiry`.
    package func presign(
        _ request: SignableRequest,
        credentials: AWSCredentials,
        expires: Int,
        date: Timestamp,
        payload: PayloadSigning? = nil
    ) throws(SigV4Error) -> String {
        try presignedURL(request, credentials: credentials, expires: expires, date: date, payload: payload).url
    }

    /// `presign`, also returning the canonical forms (for tests and debugging).
    package func presignedURL(
        _ request: SignableRequest,
        credentials: AWSCredentials,
        expires: Int,
        date: Timestamp,
        payload: PayloadSigning? = nil
    ) throws(SigV4Error) -> (url: String, result: SigningResult) {
        guard (1...Self.maximumExpiry).contains(expires) else {
            throw SigV4Error(.invalidExpiry, "a presigned URL must expire in 1 to \(Self.maximumExpiry) seconds")
        }
        let payload = payload ?? (options.alwaysSignContentSHA256 ? .unsigned : .emptyBody)
        let amzDate = AmzDate(date)
        let signedToken = options.omitSessionTokenFromSignature ? nil : credentials.sessionToken
        let query = QueryAuthorization(
            accessKeyId: credentials.accessKeyId, expires: expires, sessionToken: signedToken
        )
        let result = try signature(
            method: request.method, url: request.url, headers: request.headers, date: date, amzDate: amzDate,
            payload: payload, credentials: credentials, query: query
        ) { _ in }
        let scope = CredentialScope(amzDate: amzDate, region: region, service: service)

        var out = ByteBuffer(capacity: request.url.utf8.count + 512)
        withUTF8(request.url) { bytes in
            // Up to any fragment; the URL parsed once already, so only the separator is looked for.
            let end = bytes.firstIndex(of: UInt8(ascii: "#")) ?? bytes.count
            out.append(UnsafeBufferPointer(rebasing: bytes[..<end]))
            if let question = bytes[..<end].firstIndex(of: UInt8(ascii: "?")) {
                if question + 1 < end, bytes[end - 1] != UInt8(ascii: "&") { out.append(UInt8(ascii: "&")) }
            } else {
                out.append(UInt8(ascii: "?"))
            }
        }
        out.append("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=")
        appendEncoded(credentials.accessKeyId, to: &out)
        out.append("%2F")
        scope.append(to: &out, separator: "%2F")
        out.append("&X-Amz-Date=")
        amzDate.append(to: &out)
        out.append("&X-Amz-SignedHeaders=")
        for byte in result.canonicalRequestBytes[result.signedHeadersRange] {
            if byte == UInt8(ascii: ";") { out.append("%3B") } else { out.append(byte) }
        }
        out.append("&X-Amz-Expires=")
        out.append(decimal: expires)
        if let token = credentials.sessionToken {
            out.append("&X-Amz-Security-Token=")
            appendEncoded(token, to: &out)
        }
        out.append("&X-Amz-Signature=")
        result.signatureDigest.appendHex(to: &out)
        return (String(decoding: out.allBytes, as: UTF8.self), result)
    }

    /// The parameters query signing adds to the canonical query.
    private struct QueryAuthorization {
        var accessKeyId: String
        var expires: Int
        var sessionToken: String?
    }

    // MARK: The core

    /// Builds the canonical request, the string to sign and the signature.
    private func signature(
        method: String,
        url: String,
        headers: [(name: String, value: String)],
        date: Timestamp,
        amzDate: AmzDate,
        payload: PayloadSigning,
        credentials: AWSCredentials,
        query: QueryAuthorization?,
        addHeaders: (inout CanonicalRequestWriter) -> Void
    ) throws(SigV4Error) -> SigningResult {
        var writer = CanonicalRequestWriter()
        let scope = CredentialScope(amzDate: amzDate, region: region, service: service)
        let parsed: SigV4Error? = withUTF8(url) { bytes in
            let parts: URLParts
            do throws(SigV4Error) { parts = try URLParts(bytes) } catch { return error }
            for header in headers { writer.addHeader(name: header.name, value: header.value) }
            if !writer.hasHeader("host") {
                writer.addCanonicalHeader(name: "host") { parts.appendCanonicalHost(from: bytes, to: &$0) }
            }
            addHeaders(&writer)
            writer.sortHeaders()

            writer.writeMethod(method)
            writer.writePath(
                UnsafeBufferPointer(rebasing: bytes[parts.path]),
                normalize: options.normalizePath,
                encode: options.doubleEncodePath
            )
            if let range = parts.query { writer.addQuery(UnsafeBufferPointer(rebasing: bytes[range])) }
            return nil
        }
        if let parsed { throw parsed }
        if let query {
            writer.addEncodedQueryPair(key: "X-Amz-Algorithm") { $0.append("AWS4-HMAC-SHA256") }
            writer.addEncodedQueryPair(key: "X-Amz-Credential") { out in
                appendEncoded(query.accessKeyId, to: &out)
                out.append("%2F")
                scope.append(to: &out, separator: "%2F")
            }
            writer.addEncodedQueryPair(key: "X-Amz-Date") { amzDate.append(to: &$0) }
            writer.addEncodedQueryPair(key: "X-Amz-Expires") { $0.append(decimal: query.expires) }
            if let token = query.sessionToken {
                writer.addEncodedQueryPair(key: "X-Amz-Security-Token") { appendEncoded(token, to: &$0) }
            }
            var signedHeaderList = ByteBuffer(capacity: 64)
            writer.appendSignedHeaderList(to: &signedHeaderList, encodeSeparators: true)
            writer.addEncodedQueryPair(key: "X-Amz-SignedHeaders") { $0.append(signedHeaderList.allBytes) }
        }
        writer.writeQuery()
        writer.writeHeaders()
        writer.writePayload(payload)

        let key = keyCache.key(secret: credentials.secretAccessKey, date: date, region: region, service: service)
        let signature = scope.withStringToSign(canonicalRequestHash: SHA256.hash(writer.out.allBytes)) {
            key.authenticate($0)
        }
        return SigningResult(
            canonicalRequestBytes: writer.out.array, signedHeadersRange: writer.signedHeaders,
            signatureDigest: signature, date: date, region: region, service: service
        )
    }
}

/// What a signature was computed from, for tests, debugging and chunk signing. Holds the canonical
/// request's bytes; the strings are built only when asked for.
package struct SigningResult: Sendable {
    /// The canonical request, UTF-8.
    package let canonicalRequestBytes: [UInt8]
    let signedHeadersRange: Range<Int>
    package let signatureDigest: SHA256Digest
    package let date: Timestamp
    let region: String
    let service: String

    /// The hex signature.
    package var signature: String { signatureDigest.hex }
    package var canonicalRequest: String { String(decoding: canonicalRequestBytes, as: UTF8.self) }
    /// `host;x-amz-date;...`.
    package var signedHeaders: String { String(decoding: canonicalRequestBytes[signedHeadersRange], as: UTF8.self) }
    /// `<yyyymmdd>/<region>/<service>/aws4_request`.
    package var credentialScope: String {
        var out = ByteBuffer(capacity: 64)
        scope.append(to: &out, separator: "/")
        return String(decoding: out.allBytes, as: UTF8.self)
    }

    package var stringToSign: String {
        scope.withStringToSign(canonicalRequestHash: SHA256.hash(canonicalRequestBytes)) {
            String(decoding: $0, as: UTF8.self)
        }
    }

    private var scope: CredentialScope { CredentialScope(amzDate: AmzDate(date), region: region, service: service) }

    /// The `Authorization` header value.
    package func authorization(accessKeyId: String) -> String {
        let scope = self.scope
        let length = 28 + accessKeyId.utf8.count + 1 + scope.length + 16 + signedHeadersRange.count + 12 + 64
        return String(unsafeUninitializedCapacity: length) { buffer in
            var out = ByteCursor(buffer)
            out.append("AWS4-HMAC-SHA256 Credential=")
            out.append(utf8: accessKeyId)
            out.append(slash)
            scope.append(to: &out, separator: "/")
            out.append(", SignedHeaders=")
            canonicalRequestBytes.withUnsafeBytes { out.append(UnsafeRawBufferPointer(rebasing: $0[signedHeadersRange])) }
            out.append(", Signature=")
            signatureDigest.appendHex(to: &out)
            return out.count
        }
    }
}

/// The signing time as SigV4 writes it, `yyyymmddThhmmssZ`: 16 bytes kept inline.
struct AmzDate {
    private var storage: (UInt64, UInt64) = (0, 0)

    init(_ date: Timestamp) {
        let c = date.components
        withUnsafeMutableBytes(of: &storage) { raw in
            var index = 0
            func put(_ value: Int, width: Int) {
                var rest = value
                for position in stride(from: index + width - 1, through: index, by: -1) {
                    raw[position] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
                    rest /= 10
                }
                index += width
            }
            put(c.year, width: 4)
            put(c.month, width: 2)
            put(c.day, width: 2)
            raw[8] = UInt8(ascii: "T")
            index = 9
            put(c.hour, width: 2)
            put(c.minute, width: 2)
            put(c.second, width: 2)
            raw[15] = UInt8(ascii: "Z")
        }
    }

    /// All 16 bytes.
    @inline(__always)
    func append(to out: inout some ByteSink & ~Copyable) {
        withUnsafeBytes(of: storage) { out.append($0) }
    }

    /// `yyyymmdd`, the first 8 bytes.
    @inline(__always)
    func appendDateStamp(to out: inout some ByteSink & ~Copyable) {
        withUnsafeBytes(of: storage) { out.append(UnsafeRawBufferPointer(rebasing: $0[0..<8])) }
    }

    var string: String {
        String(unsafeUninitializedCapacity: 16) { buffer in
            withUnsafeBytes(of: storage) { buffer.baseAddress!.update(from: $0.bindMemory(to: UInt8.self).baseAddress!, count: 16) }
            return 16
        }
    }
}

/// `<yyyymmdd>/<region>/<service>/aws4_request` and the string to sign built on it.
struct CredentialScope {
    var amzDate: AmzDate
    var region: String
    var service: String

    /// The length with `/` separators.
    var length: Int { 8 + 1 + region.utf8.count + 1 + service.utf8.count + 1 + 12 }

    func append(to out: inout some ByteSink & ~Copyable, separator: StaticString) {
        amzDate.appendDateStamp(to: &out)
        out.append(separator)
        out.append(utf8: region)
        out.append(separator)
        out.append(utf8: service)
        out.append(separator)
        out.append("aws4_request")
    }

    /// Calls `body` with `AWS4-HMAC-SHA256\n<amz-date>\n<scope>\n<hex hash>`, built on the stack.
    func withStringToSign<R>(canonicalRequestHash: SHA256Digest, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let length = 17 + 16 + 1 + self.length + 1 + 64
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: length) { buffer in
            var out = ByteCursor(buffer)
            out.append("AWS4-HMAC-SHA256\n")
            amzDate.append(to: &out)
            out.append(newline)
            append(to: &out, separator: "/")
            out.append(newline)
            canonicalRequestHash.appendHex(to: &out)
            return body(UnsafeRawBufferPointer(start: buffer.baseAddress, count: out.count))
        }
    }
}
