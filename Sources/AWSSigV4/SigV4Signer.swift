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
        let components = date.components
        let signedToken = options.omitSessionTokenFromSignature ? nil : token
        let result = try signature(
            method: request.method, url: request.url, headers: request.headers, date: date, components: components,
            payload: payload, credentials: credentials, query: nil
        ) { writer in
            writer.addCanonicalHeader(name: "x-amz-date") { appendAmzDate(components, to: &$0) }
            if let signedToken { writer.addCanonicalHeader(name: "x-amz-security-token") { $0.append(contentsOf: signedToken.utf8) } }
            if sendContentSHA256 {
                writer.addCanonicalHeader(name: "x-amz-content-sha256") { $0.append(contentsOf: payload.canonicalValue.utf8) }
            }
        }
        if let token { request.headers.append((name: "X-Amz-Security-Token", value: token)) }
        var amzDate = [UInt8]()
        amzDate.reserveCapacity(16)
        appendAmzDate(components, to: &amzDate)
        request.headers.append((name: "X-Amz-Date", value: String(decoding: amzDate, as: UTF8.self)))
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
        let components = date.components
        let signedToken = options.omitSessionTokenFromSignature ? nil : credentials.sessionToken
        let query = QueryAuthorization(
            accessKeyId: credentials.accessKeyId, expires: expires, sessionToken: signedToken
        )
        let result = try signature(
            method: request.method, url: request.url, headers: request.headers, date: date, components: components,
            payload: payload, credentials: credentials, query: query
        ) { _ in }

        var out = [UInt8]()
        out.reserveCapacity(request.url.utf8.count + 512)
        var url = request.url
        url.withUTF8 { bytes in
            // Up to any fragment; the URL parsed once already, so only the separator is looked for.
            var end = bytes.count
            if let hash = bytes.firstIndex(of: UInt8(ascii: "#")) { end = hash }
            out.append(contentsOf: bytes[..<end])
            if let question = bytes[..<end].firstIndex(of: UInt8(ascii: "?")) {
                if question + 1 < end, bytes[end - 1] != UInt8(ascii: "&") { out.append(UInt8(ascii: "&")) }
            } else {
                out.append(UInt8(ascii: "?"))
            }
        }
        appendStatic("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=", to: &out)
        appendEncoded(credentials.accessKeyId, to: &out)
        appendStatic("%2F", to: &out)
        appendScope(components, region: region, service: service, encodeSlashes: true, to: &out)
        appendStatic("&X-Amz-Date=", to: &out)
        appendAmzDate(components, to: &out)
        appendStatic("&X-Amz-SignedHeaders=", to: &out)
        out.append(contentsOf: result.canonicalRequestBytes[result.signedHeadersRange].lazy.flatMap { byte in
            byte == UInt8(ascii: ";") ? [UInt8(ascii: "%"), UInt8(ascii: "3"), UInt8(ascii: "B")] : [byte]
        })
        appendStatic("&X-Amz-Expires=", to: &out)
        appendDecimal(expires, to: &out)
        if let token = credentials.sessionToken {
            appendStatic("&X-Amz-Security-Token=", to: &out)
            appendEncoded(token, to: &out)
        }
        appendStatic("&X-Amz-Signature=", to: &out)
        result.signatureDigest.appendHex(to: &out)
        return (String(decoding: out, as: UTF8.self), result)
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
        components: Timestamp.Components,
        payload: PayloadSigning,
        credentials: AWSCredentials,
        query: QueryAuthorization?,
        addHeaders: (inout CanonicalRequestWriter) -> Void
    ) throws(SigV4Error) -> SigningResult {
        var writer = CanonicalRequestWriter()
        var url = url
        let parsed: Result<Void, SigV4Error> = url.withUTF8 { bytes in
            let parts: URLParts
            do throws(SigV4Error) { parts = try URLParts(bytes) } catch { return .failure(error) }
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
            return .success(())
        }
        try parsed.get()
        if let query {
            writer.addEncodedQueryPair(key: "X-Amz-Algorithm") { appendStatic("AWS4-HMAC-SHA256", to: &$0) }
            writer.addEncodedQueryPair(key: "X-Amz-Credential") { out in
                appendEncoded(query.accessKeyId, to: &out)
                appendStatic("%2F", to: &out)
                appendScope(components, region: region, service: service, encodeSlashes: true, to: &out)
            }
            writer.addEncodedQueryPair(key: "X-Amz-Date") { appendAmzDate(components, to: &$0) }
            writer.addEncodedQueryPair(key: "X-Amz-Expires") { appendDecimal(query.expires, to: &$0) }
            if let token = query.sessionToken {
                writer.addEncodedQueryPair(key: "X-Amz-Security-Token") { appendEncoded(token, to: &$0) }
            }
            var signedHeaderList = [UInt8]()
            writer.appendSignedHeaderList(to: &signedHeaderList, encodeSeparators: true)
            writer.addEncodedQueryPair(key: "X-Amz-SignedHeaders") { $0.append(contentsOf: signedHeaderList) }
        }
        writer.writeQuery()
        writer.writeHeaders()
        writer.writePayload(payload)

        let key = keyCache.key(secret: credentials.secretAccessKey, date: date, region: region, service: service)
        let toSign = stringToSign(canonicalRequest: writer.out, components: components, region: region, service: service)
        let signature = key.authenticate(toSign)
        return SigningResult(
            canonicalRequestBytes: writer.out, signedHeadersRange: writer.signedHeaders, signatureDigest: signature,
            date: date, region: region, service: service
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
        var out = [UInt8]()
        appendScope(date.components, region: region, service: service, encodeSlashes: false, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
    package var stringToSign: String {
        let bytes = AWSSigV4.stringToSign(
            canonicalRequest: canonicalRequestBytes, components: date.components, region: region, service: service
        )
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The `Authorization` header value.
    package func authorization(accessKeyId: String) -> String {
        var out = [UInt8]()
        out.reserveCapacity(120 + accessKeyId.utf8.count + region.utf8.count + service.utf8.count + signedHeadersRange.count)
        appendStatic("AWS4-HMAC-SHA256 Credential=", to: &out)
        out.append(contentsOf: accessKeyId.utf8)
        out.append(slash)
        appendScope(date.components, region: region, service: service, encodeSlashes: false, to: &out)
        appendStatic(", SignedHeaders=", to: &out)
        out.append(contentsOf: canonicalRequestBytes[signedHeadersRange])
        appendStatic(", Signature=", to: &out)
        signatureDigest.appendHex(to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

// MARK: - Date and text helpers

/// `AWS4-HMAC-SHA256\n<amz-date>\n<scope>\n<hex sha256(canonical request)>`.
func stringToSign(canonicalRequest: [UInt8], components: Timestamp.Components, region: String, service: String) -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(160)
    appendStatic("AWS4-HMAC-SHA256\n", to: &out)
    appendAmzDate(components, to: &out)
    out.append(newline)
    appendScope(components, region: region, service: service, encodeSlashes: false, to: &out)
    out.append(newline)
    SHA256.hash(canonicalRequest).appendHex(to: &out)
    return out
}

/// `<yyyymmdd>/<region>/<service>/aws4_request`, with `%2F` for `/` when `encodeSlashes`.
func appendScope(
    _ components: Timestamp.Components, region: String, service: String, encodeSlashes: Bool, to out: inout [UInt8]
) {
    let separator: StaticString = encodeSlashes ? "%2F" : "/"
    appendDateStamp(components, to: &out)
    appendStatic(separator, to: &out)
    out.append(contentsOf: region.utf8)
    appendStatic(separator, to: &out)
    out.append(contentsOf: service.utf8)
    appendStatic(separator, to: &out)
    appendStatic("aws4_request", to: &out)
}

/// `yyyymmdd`.
func appendDateStamp(_ c: Timestamp.Components, to out: inout [UInt8]) {
    appendDigits(c.year, width: 4, to: &out)
    appendDigits(c.month, width: 2, to: &out)
    appendDigits(c.day, width: 2, to: &out)
}

/// `yyyymmddThhmmssZ`, the form of `X-Amz-Date`.
func appendAmzDate(_ c: Timestamp.Components, to out: inout [UInt8]) {
    appendDateStamp(c, to: &out)
    out.append(UInt8(ascii: "T"))
    appendDigits(c.hour, width: 2, to: &out)
    appendDigits(c.minute, width: 2, to: &out)
    appendDigits(c.second, width: 2, to: &out)
    out.append(UInt8(ascii: "Z"))
}

@inline(__always)
private func appendDigits(_ value: Int, width: Int, to out: inout [UInt8]) {
    var divisor = 1
    for _ in 1..<width { divisor *= 10 }
    var rest = value
    while divisor > 0 {
        out.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest / divisor % 10))
        rest %= divisor
        divisor /= 10
    }
}

@inline(__always)
func appendStatic(_ text: StaticString, to out: inout [UInt8]) {
    text.withUTF8Buffer { out.append(contentsOf: $0) }
}
