import AWSClients
import AWSCore
import AWSSigV4
import HTTPTransport
import LoopbackHTTP
import Primitives
import Synchronization
import Testing
import TestSupport

private typealias Env = S3SQSTestEnvironment

/// The multipart helper and chunk signing against a scripted S3 on loopback, through the real
/// libcurl transport: failures that moto cannot be made to produce.
@Suite("S3 transfers against a scripted loopback S3")
struct S3LoopbackTests {
    static let credentials = AWSCredentials(accessKeyId: "AKIDLOOPBACK", secretAccessKey: "loopback/secret")

    static func client(_ server: LoopbackHTTPServer) throws -> S3Client {
        S3Client(
            client: AWSClient(
                service: .s3, region: "us-east-1", endpoint: try ServiceEndpoint(parsing: server.baseURL),
                credentials: StaticCredentialProvider(credentials), transport: Env.transport,
                retry: RetryStrategy(maxAttempts: 3, jitter: { 0 })))
    }

    /// A multipart endpoint: `failPart` decides, per part number and attempt, whether to fail and how.
    static func multipartServer(failPart: @escaping @Sendable (Int, Int) -> ScriptedResponse?) throws -> LoopbackHTTPServer {
        let attempts = Mutex<[Int: Int]>([:])
        return try LoopbackHTTPServer { request in
            let query = request.query ?? ""
            switch request.method {
            case "POST" where query == "uploads=":
                return .text("<InitiateMultipartUploadResult><UploadId>upload-1</UploadId></InitiateMultipartUploadResult>")
            case "PUT" where query.hasPrefix("partNumber="):
                let number = Int(query.dropFirst("partNumber=".count).prefix { $0 != "&" }) ?? 0
                let attempt = attempts.withLock { map -> Int in
                    map[number, default: 0] += 1
                    return map[number]!
                }
                if let failure = failPart(number, attempt) { return failure }
                return ScriptedResponse(headers: [RecordedHeader("ETag", "\"etag-\(number)-\(request.body.count)\"")])
            case "POST" where query == "uploadId=upload-1":
                return .text("<CompleteMultipartUploadResult><ETag>\"done-3\"</ETag></CompleteMultipartUploadResult>")
            case "DELETE":
                return ScriptedResponse(status: 204)
            default:
                return .text("<Error><Code>Unexpected</Code></Error>", status: 400)
            }
        }
    }

    @Test("A part that fails with SlowDown is retried; the parts complete in order with their ETags")
    func retriesParts() async throws {
        let server = try Self.multipartServer { number, attempt in
            number == 2 && attempt == 1 ? .text("<Error><Code>SlowDown</Code><Message>busy</Message></Error>", status: 503) : nil
        }
        defer { server.stop() }
        let body = Env.pattern((5 << 20) * 2 + 1000)
        let result = try await S3MultipartUpload(
            client: try Self.client(server), bucket: "b", key: "k", settings: .init(partSize: 5 << 20, maxPartsInFlight: 2)
        ).upload(Env.stream(body, piece: 300_000, declaring: nil))
        #expect(result.etag == "\"done-3\"")
        let requests = server.requests
        let parts = requests.filter { $0.method == "PUT" }
        #expect(parts.count == 4)  // three parts, one retried
        #expect(parts.filter { $0.query?.hasPrefix("partNumber=2&") == true }.count == 2)
        // The last attempt of each part, in part order, is the whole body.
        var lastAttempt: [Int: [UInt8]] = [:]
        for part in parts {
            let number = Int(part.query!.dropFirst("partNumber=".count).prefix { $0 != "&" })!
            lastAttempt[number] = part.body
        }
        #expect(lastAttempt.keys.sorted() == [1, 2, 3])
        #expect(lastAttempt.keys.sorted().flatMap { lastAttempt[$0]! } == body)
        let complete = try #require(requests.first { $0.method == "POST" && $0.query == "uploadId=upload-1" })
        #expect(
            complete.bodyText.contains(
                "<Part><ETag>&quot;etag-1-5242880&quot;</ETag><PartNumber>1</PartNumber></Part><Part><ETag>&quot;etag-2-5242880&quot;</ETag><PartNumber>2</PartNumber></Part><Part><ETag>&quot;etag-3-1000&quot;</ETag><PartNumber>3</PartNumber></Part>"
            ))
        #expect(!requests.contains { $0.method == "DELETE" })
        #expect(server.maxRequestsInFlight <= 2)
    }

    @Test("A part that keeps failing aborts the upload and nothing is completed")
    func abortsOnPartFailure() async throws {
        let server = try Self.multipartServer { number, _ in
            number == 3 ? .text("<Error><Code>AccessDenied</Code><Message>no</Message></Error>", status: 403) : nil
        }
        defer { server.stop() }
        let error = await #expect(throws: AWSError.self) {
            try await S3MultipartUpload(client: try Self.client(server), bucket: "b", key: "k", settings: .init(partSize: 5 << 20))
                .upload(Env.stream(Env.pattern(16 << 20), piece: 1 << 20, declaring: Int64(16 << 20)))
        }
        #expect(error?.s3Code == .accessDenied)
        let requests = server.requests
        #expect(requests.contains { $0.method == "DELETE" && $0.query == "uploadId=upload-1" })
        #expect(!requests.contains { $0.method == "POST" && $0.query == "uploadId=upload-1" })
    }

    @Test("A streamed PutObject is aws-chunked: every chunk signature verifies and the data is the body")
    func chunkSignaturesVerify() async throws {
        let server = try LoopbackHTTPServer { _ in ScriptedResponse(headers: [RecordedHeader("ETag", "\"e\"")]) }
        defer { server.stop() }
        let body = Env.pattern(200_000, seed: 9)
        _ = try await Self.client(server).putObject(
            bucket: "b", key: "k", stream: Env.stream(body, piece: 50_001, declaring: Int64(body.count)), chunkSize: 65_536)
        let request = try #require(server.requests.first)
        #expect(request.header("Content-Encoding") == "aws-chunked")
        #expect(request.header("x-amz-decoded-content-length") == "200000")
        #expect(request.header("x-amz-content-sha256") == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        #expect(request.header("Content-Length") == String(ChunkSigner.encodedLength(decodedLength: 200_000, chunkSize: 65_536)))
        #expect(!request.bodyWasChunked)

        // Re-sign the chain from the request's own signature and compare every frame.
        let authorization = try #require(request.header("Authorization"))
        let seed = try #require(SHA256Digest(hex: String(authorization.split(separator: "=").last!)))
        let amzDate = try #require(request.header("X-Amz-Date"))
        let date = try #require(Timestamp(iso8601: amzDate))
        var signer = ChunkSigner(
            seedSignature: seed, credentials: Self.credentials, date: date, region: "us-east-1", service: "s3",
            keyCache: SigningKeyCache())
        var expected: [UInt8] = []
        var offset = 0
        while offset < body.count {
            let end = min(offset + 65_536, body.count)
            expected += signer.frame(body[offset..<end])
            offset = end
        }
        expected += signer.finalChunk()
        #expect(request.body == expected)
    }
}
