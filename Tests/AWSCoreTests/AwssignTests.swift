import Foundation
import Testing
import TestSupport

/// The `awssign` command, run as a process against a signature-checking moto.
@Suite("awssign signs and sends requests like awscurl", .serialized)
struct AwssignTests {
    func run(_ arguments: [String], environment extra: [String: String] = [:], stdin: [UInt8]? = nil) async throws -> ChildProcess {
        let moto = try await SharedMoto.get()
        var environment = moto.environment
        environment.removeValue(forKey: "AWS_ENDPOINT_URL")
        environment["PATH"] = "/usr/bin:/bin"
        environment["HOME"] = "/nonexistent"
        for (key, value) in extra { environment[key] = value }
        let child = try ChildProcess(try builtExecutable("awssign"), arguments: arguments, environment: environment, stdin: stdin)
        await child.wait()
        return child
    }

    @Test("A signed PUT and GET round-trip an object through moto with signature checking on")
    func sendsSignedRequests() async throws {
        let moto = try await SharedMoto.get()
        let bucket = "awssign-\(UUID().uuidString.prefix(8).lowercased())"
        let create = try await run(["--service", "s3", "-X", "PUT", "\(moto.endpoint)/\(bucket)"])
        #expect(create.process.terminationStatus == 0, "\(create.stderr)")
        let put = try await run(["--service", "s3", "-X", "PUT", "-d", "@-", "\(moto.endpoint)/\(bucket)/a%20b.json"], stdin: Array("{\"x\":1}".utf8))
        #expect(put.process.terminationStatus == 0, "\(put.stderr)")
        let get = try await run(["--service", "s3", "-i", "\(moto.endpoint)/\(bucket)/a%20b.json"])
        #expect(get.process.terminationStatus == 0)
        #expect(get.stderr.contains("HTTP 200"))
        #expect(get.stdout.hasSuffix("{\"x\":1}"))
        #expect(get.stdout.lowercased().contains("etag:"))
    }

    @Test("A JSON-protocol call (SQS CreateQueue) with headers and a body succeeds")
    func jsonProtocol() async throws {
        let moto = try await SharedMoto.get()
        let child = try await run([
            "--service", "sqs", "-H", "X-Amz-Target: AmazonSQS.CreateQueue", "-H", "Content-Type: application/x-amz-json-1.0",
            "-d", #"{"QueueName":"awssign-test"}"#, "\(moto.endpoint)/",
        ])
        #expect(child.process.terminationStatus == 0, "\(child.stderr)")
        #expect(child.stdout.contains("QueueUrl"))
    }

    @Test("A wrong secret gets moto's 403 and exit status 1, and the secret is printed nowhere")
    func wrongSecret() async throws {
        let moto = try await SharedMoto.get()
        let child = try await run(["--service", "s3", "\(moto.endpoint)/"], environment: ["AWS_SECRET_ACCESS_KEY": "not-the-secret-123"])
        #expect(child.process.terminationStatus == 1)
        #expect(child.stderr.contains("HTTP 403"))
        #expect(child.stdout.contains("SignatureDoesNotMatch"))
        #expect(!(child.stdout + child.stderr).contains("not-the-secret-123"))
    }

    @Test("--print shows the signed request without sending it and without the secret")
    func printOnly() async throws {
        let moto = try await SharedMoto.get()
        let child = try await run(
            ["--print", "--service", "es", "-X", "POST", "-d", "{}", "http://127.0.0.1:1/logs/_search"],
            environment: ["AWS_SESSION_TOKEN": "session-token-value"])
        #expect(child.process.terminationStatus == 0, "\(child.stderr)")
        #expect(child.stdout.hasPrefix("POST http://127.0.0.1:1/logs/_search\n"))
        #expect(child.stdout.contains("Authorization: AWS4-HMAC-SHA256 Credential=\(moto.accessKeyId)/"))
        #expect(child.stdout.contains("/us-east-1/es/aws4_request"))
        #expect(child.stdout.contains("X-Amz-Security-Token: session-token-value"))
        #expect(!child.stdout.contains(moto.secretAccessKey))
    }

    @Test("--presign prints a URL whose query carries the signature")
    func presign() async throws {
        let child = try await run(["--service", "s3", "--presign", "300", "https://bucket.s3.us-east-1.amazonaws.com/key.json"])
        #expect(child.process.terminationStatus == 0, "\(child.stderr)")
        let url = child.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(url.hasPrefix("https://bucket.s3.us-east-1.amazonaws.com/key.json?X-Amz-Algorithm=AWS4-HMAC-SHA256"))
        #expect(url.contains("X-Amz-Expires=300"))
        #expect(url.contains("X-Amz-Signature="))
    }

    @Test("Usage errors exit with status 2 and say what is missing", arguments: [
        ([String](), "a URL is required"),
        (["http://example.com/"], "pass --service"),
        (["--presign", "0", "--service", "s3", "http://example.com/"], "--presign takes"),
        (["--bogus", "http://example.com/"], "unknown option"),
    ])
    func usageErrors(arguments: [String], message: String) async throws {
        let child = try await run(arguments)
        #expect(child.process.terminationStatus == 2)
        #expect(child.stderr.contains(message), "\(child.stderr)")
    }

    @Test("No region is a start-up error naming AWS_REGION")
    func missingRegion() async throws {
        let child = try await run(["--service", "s3", "http://127.0.0.1:1/"], environment: ["AWS_REGION": ""])
        #expect(child.process.terminationStatus == 2)
        #expect(child.stderr.contains("AWS_REGION"))
    }
}
