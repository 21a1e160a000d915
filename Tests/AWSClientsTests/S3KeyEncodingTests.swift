import AWSClients
import AWSCore
import AWSSigV4
import Foundation
import HTTPTransport
import Primitives
import Synchronization
import Testing
import TestSupport

private typealias Env = S3SQSTestEnvironment

/// Keys that must round-trip exactly. moto's signature checker wrongly rejects correctly signed
/// requests for most of them (it re-signs a decoded path), so they are covered twice: (a) against
/// botocore's own serialisation and signature of the same calls, and (b) on a moto whose checker is
/// off (`SharedMoto.get(auth: false)`).
let trickyKeys: [String] = [
    "in/a b.txt",
    "plus+equals=amp&star*.csv",
    "paren(1)!quote'semi;colon:at@dollar$comma,.csv",
    "percent%20literal%.csv",
    "unicode/é/ü/日本語.csv",
    "unreserved-._~chars",
    "double//slash/./dot/../parent",
    "trailing/",
    "question?hash#bracket[]{}",
    "back\\slash^pipe|lt<gt>\"quote",
    "tab\tand emoji 😀",
]

@Suite("S3 keys on the wire")
struct S3KeyEncodingTests {
    static let credentials = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let amzDate = "20150830T123600Z"

    /// An S3 client whose transport records the request and answers 404, at a fixed time.
    static func recordingClient() throws -> (S3Client, ClosureTransport) {
        let transport = ClosureTransport { _, _ throws(HTTPError) in HTTPResponse(status: 404) }
        let client = AWSClient(
            service: .s3, region: "us-east-1", endpoint: try ServiceEndpoint(parsing: "http://127.0.0.1:4566"),
            credentials: StaticCredentialProvider(credentials), transport: transport,
            retry: RetryStrategy(maxAttempts: 1), clock: ManualClock(Timestamp(iso8601: "2015-08-30T12:36:00Z")!))
        return (S3Client(client: client), transport)
    }

    @Test("Object calls on tricky keys go out with botocore's URL and botocore's signature")
    func matchesBotocore() async throws {
        let (s3, transport) = try Self.recordingClient()
        var requests: [[String: String]] = []
        for key in trickyKeys {
            requests.append(["operation": "HeadObject", "bucket": "pipeline-dropbox", "key": key])
            requests.append(["operation": "DeleteObject", "bucket": "pipeline-dropbox", "key": key])
        }
        for prefix in ["in/", "in/a b", "unicode/é/", "plus+equals="] {
            requests.append(["operation": "ListObjectsV2", "bucket": "pipeline-dropbox", "prefix": prefix])
        }
        let answers = try await Self.botocore(requests)
        try #require(answers.count == requests.count)

        for (request, answer) in zip(requests, answers) {
            let before = transport.requests.count
            switch request["operation"] {
            case "HeadObject": _ = try? await s3.headObject(bucket: "pipeline-dropbox", key: request["key"]!)
            case "DeleteObject": try? await s3.deleteObject(bucket: "pipeline-dropbox", key: request["key"]!)
            default: _ = try? await s3.listObjectsV2(bucket: "pipeline-dropbox", prefix: request["prefix"]!)
            }
            let sent = try #require(transport.requests.count == before + 1 ? transport.requests.last : nil)
            let ours = try #require(sent.headers["Authorization"]?.components(separatedBy: "Signature=").last)
            #expect(sent.method == answer.method)
            if request["operation"] != "ListObjectsV2" {
                // Query order may differ for the listing; the canonical request sorts it.
                #expect(sent.url == answer.url, "key \(request["key"]!)")
            }
            #expect(ours == answer.signature, "\(request): botocore signed\n\(answer.canonicalRequest)")
        }
    }

    struct ScriptFailed: Error, CustomStringConvertible { var description: String }

    struct BotocoreAnswer {
        var method: String
        var url: String
        var signature: String
        var canonicalRequest: String
    }

    static func botocore(_ requests: [[String: String]]) async throws -> [BotocoreAnswer] {
        let script = MotoStack.repositoryRoot.appendingPathComponent("scripts/botocore_s3_requests.py")
        let spec: [String: Any] = [
            "endpoint": "http://127.0.0.1:4566", "region": "us-east-1", "access_key": credentials.accessKeyId,
            "secret_key": credentials.secretAccessKey, "amz_date": amzDate, "requests": requests,
        ]
        let run = try await runProcess(["python3", script.path], stdin: Array(try JSONSerialization.data(withJSONObject: spec)))
        guard run.status == 0, let list = try JSONSerialization.jsonObject(with: Data(run.stdout)) as? [[String: Any]] else {
            throw ScriptFailed(description: "\(script.path) failed (needs python3 with boto3): \(run.stderrText)")
        }
        return list.map {
            BotocoreAnswer(
                method: $0["method"] as? String ?? "", url: $0["url"] as? String ?? "", signature: $0["signature"] as? String ?? "",
                canonicalRequest: $0["canonical_request"] as? String ?? "")
        }
    }

    @Test("Custom endpoints use path-style addressing; AWS endpoints virtual-hosted for dot-free buckets only")
    func addressing() throws {
        let (custom, _) = try Self.recordingClient()
        let onCustom = try custom.request("GET", bucket: "my-bucket", key: "a b/c")
        #expect(custom.client.url(for: onCustom) == "http://127.0.0.1:4566/my-bucket/a%20b/c")

        let aws = S3Client(
            client: AWSClient(
                service: .s3, region: "eu-west-2", endpoint: ServiceEndpoint(scheme: "https", host: "s3.eu-west-2.amazonaws.com", isCustom: false),
                credentials: StaticCredentialProvider(Self.credentials), transport: ClosureTransport { _, _ throws(HTTPError) in HTTPResponse(status: 200) }))
        let virtual = try aws.request("GET", bucket: "my-bucket", key: "x+y")
        #expect(aws.client.url(for: virtual) == "https://my-bucket.s3.eu-west-2.amazonaws.com/x%2By")
        let dotted = try aws.request("GET", bucket: "my.dotted.bucket", key: "x")
        #expect(aws.client.url(for: dotted) == "https://s3.eu-west-2.amazonaws.com/my.dotted.bucket/x")
        let bucketOnly = try aws.request("GET", bucket: "my-bucket", query: [("list-type", "2")])
        #expect(aws.client.url(for: bucketOnly) == "https://my-bucket.s3.eu-west-2.amazonaws.com/?list-type=2")
    }

    /// Against moto with the checker off: moto's checker rejects these correctly signed keys (see
    /// the suite comment), so this run proves the keys round-trip through a real S3 implementation.
    @Test("Tricky keys round-trip through put, list, head, get, copy and delete (moto without its signature checker)")
    func roundTripWithoutChecker() async throws {
        let s3 = try await Env.s3(auth: false)
        let bucket = try await Env.bucket(s3, "s3keys")
        for (index, key) in trickyKeys.enumerated() {
            _ = try await s3.putObject(bucket: bucket, key: key, body: Array("body \(index)".utf8), metadata: ["index": "\(index)"])
        }
        let listed = try await s3.listAllObjects(bucket: bucket, pageSize: 3).allObjects().map(\.key)
        #expect(listed.sorted() == trickyKeys.sorted())
        for (index, key) in trickyKeys.enumerated() {
            let info = try await s3.headObject(bucket: bucket, key: key)
            #expect(info.metadata["index"] == "\(index)", "key \(key)")
            let body = try await s3.getObject(bucket: bucket, key: key).body.collect()
            #expect(String(decoding: body, as: UTF8.self) == "body \(index)", "key \(key)")
        }
        // A "/" in the prefix (sent as %2F) and a delimiter.
        let unicode = try await s3.listObjectsV2(bucket: bucket, prefix: "unicode/é/")
        #expect(unicode.objects.map(\.key) == ["unicode/é/ü/日本語.csv"])
        let top = try await s3.listObjectsV2(bucket: bucket, prefix: "double/", delimiter: "/")
        #expect(top.commonPrefixes == ["double//"])

        let source = S3ObjectRef(bucket: bucket, key: trickyKeys[2])
        let destination = S3ObjectRef(bucket: bucket, key: "copies/" + trickyKeys[3])
        _ = try await s3.copyObject(from: source, to: destination)
        #expect(try await s3.headObject(bucket: bucket, key: destination.key).metadata["index"] == "2")

        for key in trickyKeys { try await s3.deleteObject(bucket: bucket, key: key) }
        #expect(try await s3.listObjectsV2(bucket: bucket).objects.map(\.key) == [destination.key])
    }
}
