import AWSClients
import AWSCore
import AWSSigV4
import Foundation
import HTTPTransport
import JSONCodec
import LoopbackHTTP
import OpenSearchStandIn
import PipelineCore
import Primitives
import RuntimeAPIStandIn
import Testing
import TestSupport

struct SecurityTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func unique(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.lowercased().prefix(10))" }

/// Temporary credentials as a Lambda gets them: a key id, a 40-character secret, a long session token.
struct SessionCredentials: Sendable {
    var accessKeyId: String
    var secretAccessKey: String
    var sessionToken: String
}

/// One signature-checking moto for the leak suites (with `--canonical-query`, so listings with a
/// `/` in the prefix are checked too) and a role session on it: every request signed with the
/// session's keys must carry its token, which moto compares.
enum SecurityMoto {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var start: Task<(MotoStack, SessionCredentials), any Error>?

    static var script: String { MotoStack.repositoryRoot.appendingPathComponent("Tests/SecurityTests/Scripts/moto_session.py").path }

    static func get() async throws -> (MotoStack, SessionCredentials) {
        let task = lock.withLock { () -> Task<(MotoStack, SessionCredentials), any Error> in
            if let start { return start }
            let task = Task<(MotoStack, SessionCredentials), any Error> {
                let moto = try await offPool { try MotoStack(auth: true, options: ["--canonical-query"]) }
                var environment = ProcessInfo.processInfo.environment
                for (name, value) in moto.environment { environment[name] = value }
                let run = try await runProcess(["python3", script, "assume-role"], environment: environment)
                guard run.status == 0, let json = try? JSONParser.parse(run.stdout), let keyId = json["accessKeyId"]?.stringValue,
                    let secret = json["secretAccessKey"]?.stringValue, let token = json["sessionToken"]?.stringValue
                else { throw SecurityTestFailure("AssumeRole on moto failed: \(run.stderrText)") }
                return (moto, SessionCredentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: token))
            }
            start = task
            return task
        }
        return try await task.value
    }
}

/// Buckets, a status table and parameters on the security moto, created with the session's keys,
/// and the environment a handler gets (the session in `AWS_*`).
struct SecurityStack: Sendable {
    static let transport: CurlTransport = {
        do { return try CurlTransport() } catch { fatalError("libcurl transport did not start: \(error)") }
    }()

    let moto: MotoStack
    let session: SessionCredentials
    let clients: PipelineClients
    let buckets: [String]
    let table: String
    let parameterPath: String
    var environment: [String: String]

    init(buckets count: Int) async throws {
        (moto, session) = try await SecurityMoto.get()
        var environment = moto.environment
        environment["AWS_ACCESS_KEY_ID"] = session.accessKeyId
        environment["AWS_SECRET_ACCESS_KEY"] = session.secretAccessKey
        environment["AWS_SESSION_TOKEN"] = session.sessionToken
        environment["PATH"] = "/usr/bin:/bin"
        environment["DEADLINE_MARGIN_MS"] = "1000"
        environment["AWS_MAX_ATTEMPTS"] = "2"
        let settings = try AWSSettings(environment: Environment(environment))
        let credentials = StaticCredentialProvider(
            AWSCredentials(accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey, sessionToken: session.sessionToken))
        clients = try PipelineClients.make(settings: settings, credentials: credentials, transport: Self.transport)
        buckets = (0..<count).map { _ in unique("secure") }
        for bucket in buckets { try await clients.s3.createBucket(bucket) }
        table = unique("status")
        try await StatusStore.createTable(clients.dynamoDB, table: table)
        parameterPath = "/\(unique("secure"))/"
        environment["INGEST_STATUS_TABLE"] = table
        self.environment = environment
    }

    /// The secrets no output may hold.
    var secrets: [String: String] {
        ["AWS_SECRET_ACCESS_KEY": session.secretAccessKey, "AWS_SESSION_TOKEN": session.sessionToken]
    }

    /// Stores `value` as a SecureString parameter under this stack's path; returns its name.
    func putParameter(_ name: String, _ value: String) async throws -> String {
        let full = parameterPath + name
        _ = try await clients.ssm.putParameter(full, value: value, type: .secureString, overwrite: true)
        return full
    }

    func put(_ bucket: String, _ key: String, _ body: [UInt8]) async throws -> String? {
        try await clients.s3.putObject(bucket: bucket, key: key, body: body).etag.map(FileId.unquoted)
    }

    func exists(_ bucket: String, _ key: String) async -> Bool { (try? await clients.s3.headObject(bucket: bucket, key: key)) != nil }

    /// Everything the handlers wrote: status items (a scan), every object with its metadata and
    /// body, every parameter under this stack's path (decrypted), as boto3 reads them.
    func dump() async throws -> String {
        var environment = ProcessInfo.processInfo.environment
        for (name, value) in self.environment where name != "PATH" { environment[name] = value }
        var arguments = ["python3", SecurityMoto.script, "dump", "--table", table, "--parameter-path", parameterPath]
        for bucket in buckets { arguments += ["--bucket", bucket] }
        let run = try await runProcess(arguments, environment: environment)
        guard run.status == 0 else { throw SecurityTestFailure("dump failed: \(run.stderrText)") }
        return run.stdoutText
    }
}

/// What one bootstrap process produced.
struct BootstrapCapture: Sendable {
    var function: String
    var stdout = ""
    var stderr = ""
    var exitStatus: Int32 = 0
    var results: [RuntimeAPIStandIn.InvocationResult] = []
    var initErrors: [RuntimeAPIStandIn.ErrorPost] = []
    var invocationErrors: [RuntimeAPIStandIn.ErrorPost] = []

    /// Every text, with where it came from.
    var texts: [(source: String, text: String)] {
        var out = [("\(function) stdout", stdout), ("\(function) stderr", stderr)]
        for (index, result) in results.enumerated() {
            switch result {
            case .response(let body): out.append(("\(function) response \(index)", String(decoding: body, as: UTF8.self)))
            case .error(let type, let body): out.append(("\(function) error \(index)", type + " " + String(decoding: body, as: UTF8.self)))
            }
        }
        for post in initErrors + invocationErrors {
            out.append(("\(function) error post", (post.rawErrorType ?? "") + " " + String(decoding: post.body, as: UTF8.self)))
        }
        return out
    }

    var responses: [JSON] {
        results.compactMap { if case .response(let body) = $0 { try? JSONParser.parse(body) } else { nil } }
    }

    /// The JSON log lines (stderr).
    var logLines: [JSON] { stderr.split(separator: "\n").compactMap { try? JSONParser.parse(String($0)) } }
}

/// Runs the real bootstrap `function` under a loopback Runtime API with `environment`, hands it
/// each payload in turn (waiting for each answer), then stops it; an init failure ends the run.
func runBootstrap(_ function: String, environment: [String: String], payloads: [[UInt8]], secondsPerInvocation: Int64 = 60)
    async throws -> BootstrapCapture
{
    let standIn = try RuntimeAPIStandIn(functionArn: "arn:aws:lambda:us-east-1:123456789012:function:\(function)")
    defer { standIn.stop() }
    var environment = environment
    environment["AWS_LAMBDA_RUNTIME_API"] = standIn.runtimeAPI
    environment["AWS_LAMBDA_FUNCTION_NAME"] = function
    let child = try ChildProcess(try builtExecutable(function), arguments: [], environment: environment)
    var capture = BootstrapCapture(function: function)
    invocations: for payload in payloads {
        let requestId = standIn.enqueue(payload: payload, deadline: SystemClock().now().adding(seconds: secondsPerInvocation))
        let limit = ContinuousClock.now + .seconds(secondsPerInvocation + 30)
        while true {
            if let result = standIn.result(requestId) {
                capture.results.append(result)
                break
            }
            if !standIn.initErrors.isEmpty || !child.process.isRunning || ContinuousClock.now > limit { break invocations }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
    child.terminate()
    capture.exitStatus = await child.wait(timeout: 30)
    capture.stdout = child.stdout
    capture.stderr = child.stderr
    capture.initErrors = standIn.initErrors
    capture.invocationErrors = standIn.invocationErrors
    return capture
}

/// An SQS event whose messages each carry one S3 `ObjectCreated:Put` notification (keys
/// form-encoded, as S3 sends them), or the body given as is.
func sqsEvent(_ bodies: [SQSBody]) -> [UInt8] {
    let messages: [JSON] = bodies.enumerated().map { index, body in
        let text: String
        switch body {
        case .raw(let raw): text = raw
        case .created(let bucket, let key, let etag):
            var object: JSONObject = ["key": .string(key.replacingOccurrences(of: "/", with: "%2F")), "size": 1]
            if let etag { object.append("eTag", .string(etag)) }
            text = JSON.object([
                "Records": [
                    [
                        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventName": "ObjectCreated:Put",
                        "eventTime": "2024-05-01T10:00:00.000Z",
                        "s3": ["bucket": ["name": .string(bucket), "arn": .string("arn:aws:s3:::\(bucket)")], "object": .object(object)],
                    ]
                ]
            ]).text
        }
        return [
            "messageId": .string("m-\(index)"), "receiptHandle": "r", "body": .string(text), "attributes": ["ApproximateReceiveCount": "1"],
            "messageAttributes": [:], "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:queue",
            "awsRegion": "us-east-1",
        ]
    }
    return JSON.object(["Records": .array(messages)]).bytes
}

enum SQSBody {
    case created(bucket: String, key: String, etag: String?)
    case raw(String)
}

/// The failed message ids of a batch response.
func failedIds(_ response: JSON) -> [String] {
    (response["batchItemFailures"]?.arrayValue ?? []).compactMap { $0["itemIdentifier"]?.stringValue }
}

/// Records every leak the detector finds in `texts` as a test issue; returns how many texts were checked.
@discardableResult
func expectNoLeaks(
    _ texts: [(source: String, text: String)], secrets: [String: String], sourceLocation: SourceLocation = #_sourceLocation
) -> Int {
    let detector = LeakDetector(secrets: secrets)
    // SECURITY_CAPTURE_DIR keeps everything that was checked, to read when a check fails.
    if let directory = ProcessInfo.processInfo.environment["SECURITY_CAPTURE_DIR"] {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (index, (source, text)) in texts.enumerated() {
            let name = "\(index)-" + source.map { $0.isLetter || $0.isNumber ? $0 : "-" } + ".txt"
            try? Data(text.utf8).write(to: URL(fileURLWithPath: directory).appendingPathComponent(String(name)))
        }
    }
    for (source, text) in texts {
        for leak in detector.leaks(in: text, source: source) {
            Issue.record("secret leak: \(leak)", sourceLocation: sourceLocation)
        }
    }
    return texts.count
}
