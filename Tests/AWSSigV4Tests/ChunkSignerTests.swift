import AWSSigV4
import Primitives
import Testing

/// The example in the S3 API reference, "Signature Calculations for the Authorization Header:
/// Transferring Payload in Multiple Chunks (Chunked Upload)": a 66,560-byte object of `a`s sent
/// in 64 KiB chunks. The expected values are the ones the page prints (recomputed independently
/// from the spec with Python's hmac/hashlib while writing this test).
@Suite("aws-chunked chunk signing")
struct ChunkSignerTests {
    static let credentials = AWSCredentials(
        accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    )
    static let date = Timestamp(iso8601: "2013-05-24T00:00:00Z")!

    static func seedRequest() -> SignableRequest {
        SignableRequest(
            method: "PUT",
            url: "https://s3.amazonaws.com/examplebucket/chunkObject.txt",
            headers: [
                ("Host", "s3.amazonaws.com"),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ("Content-Encoding", "aws-chunked"),
                ("x-amz-decoded-content-length", "66560"),
                ("Content-Length", "66824"),
            ]
        )
    }

    @Test("The seed signature matches the AWS example") func seed() throws {
        var request = Self.seedRequest()
        let result = try SigV4Signer.s3(region: "us-east-1").sign(
            &request, credentials: Self.credentials, payload: .streaming, date: Self.date
        )
        #expect(result.signature == "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
        #expect(
            result.signedHeaders
                == "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class"
        )
        #expect(request.headerValues(named: "x-amz-content-sha256") == ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD"])
    }

    @Test("Each chunk's signature chains on the previous one, as in the AWS example") func chunks() throws {
        let signer = SigV4Signer.s3(region: "us-east-1")
        var request = Self.seedRequest()
        let seed = try signer.sign(&request, credentials: Self.credentials, payload: .streaming, date: Self.date)
        var chunkSigner = signer.chunkSigner(seed: seed, credentials: Self.credentials)
        let data = [UInt8](repeating: UInt8(ascii: "a"), count: 66_560)

        var body = chunkSigner.frame(data[..<65_536])
        let first = "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n"
        #expect(String(decoding: body.prefix(first.utf8.count), as: UTF8.self) == first)
        #expect(body.suffix(2) == [13, 10])

        let second = chunkSigner.frame(data[65_536...])
        let secondHeader = "400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n"
        #expect(String(decoding: second.prefix(secondHeader.utf8.count), as: UTF8.self) == secondHeader)
        body += second

        let final = chunkSigner.finalChunk()
        #expect(
            String(decoding: final, as: UTF8.self)
                == "0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"
        )
        body += final
        #expect(body.count == 66_824)
        #expect(ChunkSigner.encodedLength(decodedLength: 66_560, chunkSize: 65_536) == body.count)
    }

    @Test("The encoded length counts every chunk's framing and the final empty chunk") func encodedLength() {
        #expect(ChunkSigner.encodedLength(decodedLength: 0, chunkSize: 65_536) == 86)
        #expect(ChunkSigner.encodedLength(decodedLength: 65_536, chunkSize: 65_536) == 65_626 + 86)
        #expect(ChunkSigner.encodedLength(decodedLength: 1, chunkSize: 8_192) == 1 + 17 + 64 + 2 + 1 + 2 + 86)
        // 3 full 16 KiB chunks ("4000" is 4 hex digits) and a 17-byte rest ("11").
        let expected = 3 * (4 + 17 + 64 + 2 + 16_384 + 2) + (2 + 17 + 64 + 2 + 17 + 2) + 86
        #expect(ChunkSigner.encodedLength(decodedLength: 3 * 16_384 + 17, chunkSize: 16_384) == expected)
    }
}
