package import Primitives

/// Signs the chunks of a `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` (`aws-chunked`) body. Each chunk's
/// signature chains on the previous one, starting from the request's own signature:
///
///     string to sign = AWS4-HMAC-SHA256-PAYLOAD \n <amz-date> \n <scope> \n <previous signature> \n
///                      <hex sha256("")> \n <hex sha256(chunk)>
///     wire form      = hex(len) ";chunk-signature=" <signature> \r\n <data> \r\n
///
/// and the body ends with an empty chunk (`0;chunk-signature=...\r\n\r\n`). A value: each mutation
/// advances the chain, so chunks must be signed in the order they are sent.
package struct ChunkSigner: Sendable, CustomStringConvertible {
    private let key: HMACSHA256Key
    /// `AWS4-HMAC-SHA256-PAYLOAD\n<date>\n<scope>\n`.
    private let prefix: [UInt8]
    /// The signature of the request, then of each chunk signed so far.
    package private(set) var previousSignature: SHA256Digest

    /// A chunk signer continuing from `seed`, the result of signing the request with
    /// `payload: .streaming`.
    package init(seed: SigningResult, credentials: AWSCredentials, keyCache: SigningKeyCache) {
        self.init(
            seedSignature: seed.signatureDigest, credentials: credentials, date: seed.date, region: seed.region,
            service: seed.service, keyCache: keyCache
        )
    }

    /// A chunk signer continuing from a known seed signature.
    package init(
        seedSignature: SHA256Digest,
        credentials: AWSCredentials,
        date: Timestamp,
        region: String,
        service: String,
        keyCache: SigningKeyCache
    ) {
        key = keyCache.key(secret: credentials.secretAccessKey, date: date, region: region, service: service)
        let amzDate = AmzDate(date)
        var prefix = [UInt8]()
        prefix.append("AWS4-HMAC-SHA256-PAYLOAD\n")
        amzDate.append(to: &prefix)
        prefix.append(newline)
        CredentialScope(amzDate: amzDate, region: region, service: service).append(to: &prefix, separator: "/")
        prefix.append(newline)
        self.prefix = prefix
        previousSignature = seedSignature
    }

    package var description: String { "ChunkSigner(previousSignature: \(previousSignature.hex))" }

    /// Signs the next chunk and returns its header, `hex(len);chunk-signature=SIG\r\n`. Send the
    /// chunk's bytes and `\r\n` after it.
    package mutating func header(for chunk: UnsafeRawBufferPointer) -> [UInt8] {
        let signature = sign(hash: SHA256.hash(chunk))
        var out = [UInt8]()
        out.reserveCapacity(90)
        appendHexLength(chunk.count, to: &out)
        out.append(";chunk-signature=")
        signature.appendHex(to: &out)
        out.append("\r\n")
        return out
    }

    /// Signs the next chunk and returns it framed: header, data, `\r\n`.
    package mutating func frame(_ chunk: some Collection<UInt8>) -> [UInt8] {
        let bytes = Array(chunk)
        var out = bytes.withUnsafeBytes { header(for: $0) }
        out.reserveCapacity(out.count + bytes.count + 2)
        out.append(contentsOf: bytes)
        out.append("\r\n")
        return out
    }

    /// Signs the closing empty chunk and returns it framed: `0;chunk-signature=SIG\r\n\r\n`.
    package mutating func finalChunk() -> [UInt8] {
        var out = header(for: UnsafeRawBufferPointer(start: nil, count: 0))
        out.append("\r\n")
        return out
    }

    private mutating func sign(hash chunkHash: SHA256Digest) -> SHA256Digest {
        var toSign = prefix
        toSign.reserveCapacity(prefix.count + 3 * 65)
        previousSignature.appendHex(to: &toSign)
        toSign.append(newline)
        SHA256.emptyHash.appendHex(to: &toSign)
        toSign.append(newline)
        chunkHash.appendHex(to: &toSign)
        let signature = key.authenticate(toSign)
        previousSignature = signature
        return signature
    }

    /// The `Content-Length` of an `aws-chunked` body: `decodedLength` bytes cut into chunks of
    /// `chunkSize` (the last one shorter), each framed, plus the final empty chunk.
    package static func encodedLength(decodedLength: Int, chunkSize: Int) -> Int {
        precondition(chunkSize > 0 && decodedLength >= 0, "chunk size must be positive and length non-negative")
        let fullChunks = decodedLength / chunkSize
        let rest = decodedLength % chunkSize
        var total = fullChunks * framedLength(chunkSize)
        if rest > 0 { total += framedLength(rest) }
        return total + framedLength(0) + 2
    }

    /// `hex(len)` + `;chunk-signature=` (17) + 64 hex digits + CRLF + data + CRLF. The final chunk
    /// has no data but its own trailing CRLF, which `encodedLength` adds.
    private static func framedLength(_ length: Int) -> Int {
        var digits = 1
        var rest = length >> 4
        while rest > 0 {
            digits += 1
            rest >>= 4
        }
        return digits + 17 + 64 + 2 + length + (length > 0 ? 2 : 0)
    }

    private func appendHexLength(_ length: Int, to out: inout [UInt8]) {
        if length >= 16 { appendHexLength(length >> 4, to: &out) }
        out.append(lowerHexDigits.utf8Start[length & 0x0f])
    }
}

extension SigV4Signer {
    /// A `ChunkSigner` seeded with the signature of a request signed with `payload: .streaming`.
    package func chunkSigner(seed: SigningResult, credentials: AWSCredentials) -> ChunkSigner {
        ChunkSigner(seed: seed, credentials: credentials, keyCache: keyCache)
    }
}
