import Foundation
import JSONCodec
import LoopbackHTTP
import OpenSearchStandIn
import RuntimeAPIStandIn
import Testing
import TestSupport

/// The catalog every handler reads (a SecureString parameter): a dropbox dataset, an indexed one,
/// and the Totesys extracts of the star schema in `infra/star-schema/totesys.json`.
let securityCatalog = #"""
    {"datasets": [
      {"name": "sales", "keyPattern": "sales/{region}/*", "format": {"type": "jsonl"}, "extensions": [".jsonl"],
       "requiredFields": {"order_id": "integer"}},
      {"name": "events", "keyPattern": "events/*.jsonl", "format": {"type": "jsonl"}, "requiredFields": {"event_id": "integer"},
       "idFields": ["event_id"], "index": {"name": "events-secure"}, "maxFailedRecordRatio": 0.9},
      {"name": "totesys", "keyPattern": "totesys/{table}/{sequence}-{timestamp}.jsonl", "format": {"type": "jsonl"},
       "starSchema": "totesys"}
    ]}
    """#

let wrongSecret = "Zm9vYmFyWm9vYmFyWm9vYmFyWm9vYmFyWm9vYmFy"
let wrongSessionToken = "FQoGZXIvYXdzEBYaDNotTheSessionsToken/" + String(repeating: "Q2hlY2tlZCBieSBtb3Rv", count: 14)

/// Runs the three real bootstraps with a role session's credentials (key id, 40-character secret,
/// long session token) through their success and failure paths, and fails if any secret, SigV4
/// header, signature or password appears in anything they produce: stdout and stderr, the Runtime
/// API's responses and error posts, status items, objects (error reports, errors objects, Parquet),
/// parameters, OpenSearch documents.
@Suite("No secret leaks from the bootstraps", .serialized)
struct NoSecretLeaksTests {
    @Test("dropbox-lambda: accepted, rejected, vanished, foreign-bucket and malformed events, a wrong secret, bad SSM settings, a refused network")
    func dropbox() async throws {
        var stack = try await SecurityStack(buckets: 2)
        let (dropbox, ingest) = (stack.buckets[0], stack.buckets[1])
        stack.environment["DROPBOX_BUCKET_NAME"] = dropbox
        stack.environment["INGEST_BUCKET_NAME"] = ingest
        stack.environment["DATASETS_PARAMETER"] = try await stack.putParameter("datasets", securityCatalog)
        let good = try await stack.put(dropbox, "received_files/sales/eu/good.jsonl", Array("{\"order_id\":1}\n{\"order_id\":2}\n".utf8))
        let bad = try await stack.put(dropbox, "received_files/sales/eu/bad.jsonl", Array("{\"order\":1}\n".utf8))
        let batch = sqsEvent([
            .created(bucket: dropbox, key: "received_files/sales/eu/good.jsonl", etag: good),
            .created(bucket: dropbox, key: "received_files/sales/eu/bad.jsonl", etag: bad),
            .created(bucket: dropbox, key: "received_files/sales/eu/missing.jsonl", etag: "0123456789abcdef0123456789abcdef"),
            .created(bucket: "someone-elses-bucket", key: "received_files/sales/eu/x.jsonl", etag: nil),
            .raw("{this is not json"),
        ])
        let run = try await runBootstrap("dropbox-lambda", environment: stack.environment, payloads: [batch, Array("{not an event".utf8)])
        let response = try #require(run.responses.first, "\(run.stderr)")
        #expect(failedIds(response) == ["m-4"])
        #expect(run.invocationErrors.count == 1)
        #expect(await stack.exists(ingest, "in/sales/sales/eu/good.jsonl"))
        #expect(await stack.exists(dropbox, "rejected/sales/eu/bad.jsonl.error.json"))

        // A wrong secret: init's GetParameter is refused (SignatureDoesNotMatch) and reported.
        var wrong = stack.environment
        wrong["AWS_SECRET_ACCESS_KEY"] = wrongSecret
        let refusedInit = try await runBootstrap("dropbox-lambda", environment: wrong, payloads: [batch])
        #expect(refusedInit.initErrors.count == 1)
        #expect(refusedInit.initErrors.first.map { String(decoding: $0.body, as: UTF8.self) }?.contains("SignatureDoesNotMatch") == true)

        // A wrong secret with the catalog in a file: every S3 and DynamoDB call of the batch is refused.
        let catalogFile = try temporaryFile(securityCatalog)
        wrong["DATASETS_PARAMETER"] = nil
        wrong["DATASETS_FILE"] = catalogFile
        let again = try await stack.put(dropbox, "received_files/sales/eu/again.jsonl", Array("{\"order_id\":3}\n".utf8))
        let refused = try await runBootstrap(
            "dropbox-lambda", environment: wrong,
            payloads: [sqsEvent([.created(bucket: dropbox, key: "received_files/sales/eu/again.jsonl", etag: again)])])
        #expect(refused.responses.first.map(failedIds) == ["m-0"], "\(refused.stderr)")

        // A session token that is not the session's: moto answers InvalidToken.
        var wrongToken = stack.environment
        wrongToken["AWS_SESSION_TOKEN"] = wrongSessionToken
        let refusedToken = try await runBootstrap("dropbox-lambda", environment: wrongToken, payloads: [batch])
        #expect(refusedToken.initErrors.count == 1)

        // Bad settings in SSM: a catalog that is not JSON is an init error.
        var badSettings = stack.environment
        badSettings["DATASETS_PARAMETER"] = try await stack.putParameter("broken", "{\"datasets\": [ {\"name\": ")
        let badInit = try await runBootstrap("dropbox-lambda", environment: badSettings, payloads: [batch])
        #expect(badInit.initErrors.count == 1)

        // A refused network: AWS endpoints on a port nobody listens on.
        let refusing = try RefusingPort()
        var offline = wrong
        offline["AWS_SECRET_ACCESS_KEY"] = stack.session.secretAccessKey
        offline["AWS_ENDPOINT_URL"] = "http://127.0.0.1:\(refusing.port)"
        let unreachable = try await runBootstrap("dropbox-lambda", environment: offline, payloads: [batch])
        withExtendedLifetime(refusing) {}
        #expect(unreachable.responses.first.map(failedIds)?.isEmpty == false, "\(unreachable.stderr)")

        let dump = try await stack.dump()
        #expect(dump.contains("REJECTED") && dump.contains("ACCEPTED"))
        var secrets = stack.secrets
        secrets["wrong secret"] = wrongSecret
        secrets["wrong session token"] = wrongSessionToken
        let texts = [run, refusedInit, refused, refusedToken, badInit, unreachable].flatMap(\.texts) + [("moto dump", dump)]
        expectNoLeaks(texts, secrets: secrets)
    }

    @Test("ingest-lambda: indexed and partly failed files, malformed events, OpenSearch 401, 403 and 500, a refused domain, a password in the endpoint URL")
    func ingest() async throws {
        var stack = try await SecurityStack(buckets: 1)
        let bucket = stack.buckets[0]
        let data = FileManager.default.temporaryDirectory.appendingPathComponent(unique("opensearch")).path
        let standIn = try OpenSearchStandIn(
            OpenSearchStandInConfiguration(
                region: stack.moto.region, service: "es", accessKeyId: stack.session.accessKeyId,
                secretAccessKey: stack.session.secretAccessKey, dataDirectory: data))
        defer { standIn.server.stop() }
        stack.environment["INGEST_BUCKET_NAME"] = bucket
        stack.environment["OPEN_SEARCH_ENDPOINT"] = standIn.endpoint
        stack.environment["DATASETS_PARAMETER"] = try await stack.putParameter("datasets", securityCatalog)
        var events: [SQSBody] = []
        for (name, body) in [
            ("good", "{\"event_id\":1,\"city\":\"Leeds\"}\n{\"event_id\":2,\"city\":\"York\"}\n"),
            ("partial", "{\"event_id\":3}\n{\"city\":\"no id\"}\n{broken\n"),
            ("unauthorised", "{\"event_id\":4}\n"), ("forbidden", "{\"event_id\":5}\n"), ("failing", "{\"event_id\":6}\n"),
        ] {
            let key = "in/events/\(name).jsonl"
            events.append(.created(bucket: bucket, key: key, etag: try await stack.put(bucket, key, Array(body.utf8))))
        }
        events.append(.created(bucket: bucket, key: "in/events/missing.jsonl", etag: "0123456789abcdef0123456789abcdef"))
        events.append(.created(bucket: "someone-elses-bucket", key: "in/events/x.jsonl", etag: nil))

        let first = try await runBootstrapWithFaults(
            stack, payloads: [sqsEvent(Array(events[0...1]) + [.raw("{this is not json")]), Array("{not an event".utf8)], standIn: standIn,
            faults: [])
        let second = try await runBootstrapWithFaults(
            stack, payloads: [sqsEvent([events[2]]), sqsEvent([events[3]]), sqsEvent([events[4]]), sqsEvent(Array(events[5...6]))],
            standIn: standIn, faults: [401, 403, 500])
        #expect(first.responses.first.map(failedIds) == ["m-2"], "\(first.stderr)")
        #expect(first.invocationErrors.count == 1)
        #expect(await stack.exists(bucket, "processed/events/good.jsonl"))
        // 401 and 403 fail the record (SQS retries it); a persistent 500 on _bulk ends with the
        // records in the errors object, as the file is then filed with failures.
        #expect(second.responses.map(failedIds) == [["m-0"], ["m-0"], [], []], "\(second.stderr)")
        #expect(standIn.stats.injectedRequestFailures >= 3)

        let refusing = try RefusingPort()
        var offline = stack.environment
        offline["OPEN_SEARCH_ENDPOINT"] = "http://127.0.0.1:\(refusing.port)"
        let unreachable = try await runBootstrap("ingest-lambda", environment: offline, payloads: [sqsEvent([events[2]])])
        withExtendedLifetime(refusing) {}
        #expect(unreachable.responses.first.map(failedIds) == ["m-0"], "\(unreachable.stderr)")

        let password = "OpenSearch-Basic-Passw0rd!"
        var withPassword = stack.environment
        withPassword["OPEN_SEARCH_ENDPOINT"] = "https://admin:\(password)@127.0.0.1:\(standIn.port)"
        let passwordRun = try await runBootstrap("ingest-lambda", environment: withPassword, payloads: [sqsEvent([events[2]])])
        #expect(passwordRun.initErrors.count == 1, "\(passwordRun.stderr)")

        var wrong = stack.environment
        wrong["AWS_SECRET_ACCESS_KEY"] = wrongSecret
        let refusedInit = try await runBootstrap("ingest-lambda", environment: wrong, payloads: [sqsEvent([events[2]])])
        #expect(refusedInit.initErrors.count == 1)

        let dump = try await stack.dump()
        #expect(dump.contains("errors.jsonl"))
        var secrets = stack.secrets
        secrets["wrong secret"] = wrongSecret
        secrets["OpenSearch password"] = password
        let texts = [first, second, unreachable, passwordRun, refusedInit].flatMap(\.texts) + [("moto dump", dump)]
            + (try directoryTexts(data))
        expectNoLeaks(texts, secrets: secrets)
    }

    @Test("processing-lambda: a processed extract, a malformed one, a vanished one, a foreign bucket, a malformed event, a wrong secret")
    func processing() async throws {
        var stack = try await SecurityStack(buckets: 2)
        let (extracts, processed) = (stack.buckets[0], stack.buckets[1])
        stack.environment["INGEST_BUCKET_NAME"] = extracts
        stack.environment["PROCESSED_BUCKET_NAME"] = processed
        stack.environment["DATASETS_PARAMETER"] = try await stack.putParameter("datasets", securityCatalog)
        stack.environment["STAR_SCHEMA_FILE"] = MotoStack.repositoryRoot.appendingPathComponent("infra/star-schema/totesys.json").path
        stack.environment["WATERMARK_PARAMETER_PREFIX"] = stack.parameterPath + "watermarks/"
        let goodKey = "processed/totesys/design/5-20221103T142049.jsonl"
        let badKey = "processed/totesys/design/9-20221104T142049.jsonl"
        let good = try await stack.put(
            extracts, goodKey,
            Array(#"{"design_id": 5, "design_name": "Steel", "file_location": "/x", "file_name": "s.json", "created_at": "2022-11-03T14:20:49.962000", "last_updated": "2022-11-03T14:20:49.962000"}"#.utf8 + [10]))
        let bad = try await stack.put(extracts, badKey, Array("{\"design_id\": 9, \"design_name\": \n".utf8))
        let run = try await runBootstrap(
            "processing-lambda", environment: stack.environment,
            payloads: [
                sqsEvent([.created(bucket: extracts, key: goodKey, etag: good)]),
                sqsEvent([
                    .created(bucket: extracts, key: badKey, etag: bad), .created(bucket: "someone-elses-bucket", key: goodKey, etag: nil),
                    .created(bucket: extracts, key: "processed/totesys/design/12-20221105T142049.jsonl", etag: "0123456789abcdef0123456789abcdef"),
                ]),
                Array("{not an event".utf8),
            ], secondsPerInvocation: 120)
        #expect(run.responses.count == 2 && run.invocationErrors.count == 1, "\(run.stderr)")
        #expect(run.responses.first.map(failedIds) == [], "\(run.stderr)")
        #expect(run.responses.last.map(failedIds) == ["m-0"], "\(run.stderr)")

        var wrong = stack.environment
        wrong["AWS_SECRET_ACCESS_KEY"] = wrongSecret
        let refusedInit = try await runBootstrap(
            "processing-lambda", environment: wrong, payloads: [sqsEvent([.created(bucket: extracts, key: goodKey, etag: good)])])
        #expect(refusedInit.initErrors.count == 1, "\(refusedInit.stderr)")

        let dump = try await stack.dump()
        #expect(dump.contains("PAR1") || dump.contains(".parquet"))
        var secrets = stack.secrets
        secrets["wrong secret"] = wrongSecret
        expectNoLeaks([run, refusedInit].flatMap(\.texts) + [("moto dump", dump)], secrets: secrets)
    }
}

/// Runs `ingest-lambda`, scripting the stand-in to answer the n-th invocation's OpenSearch calls
/// with `faults[n]` (every request of that invocation, so retries fail too).
func runBootstrapWithFaults(_ stack: SecurityStack, payloads: [[UInt8]], standIn: OpenSearchStandIn, faults: [Int]) async throws
    -> BootstrapCapture
{
    var captures = BootstrapCapture(function: "ingest-lambda")
    for (index, payload) in payloads.enumerated() {
        if index < faults.count { standIn.failNext(ScriptedFault(count: 1000, status: faults[index], pathContains: "_bulk")) }
        let capture = try await runBootstrap("ingest-lambda", environment: stack.environment, payloads: [payload])
        standIn.clearScriptedFaults()
        captures.stdout += capture.stdout
        captures.stderr += capture.stderr
        captures.results += capture.results
        captures.initErrors += capture.initErrors
        captures.invocationErrors += capture.invocationErrors
    }
    return captures
}

func temporaryFile(_ text: String) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(unique("secure") + ".json")
    try Data(text.utf8).write(to: url)
    return url.path
}

/// The text of every file under `directory` (the OpenSearch stand-in's stored documents).
func directoryTexts(_ directory: String) throws -> [(source: String, text: String)] {
    guard let walker = FileManager.default.enumerator(atPath: directory) else { return [] }
    var out: [(source: String, text: String)] = []
    for case let path as String in walker {
        let full = (directory as NSString).appendingPathComponent(path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
        out.append(("opensearch \(path)", String(decoding: try Data(contentsOf: URL(fileURLWithPath: full)), as: UTF8.self)))
    }
    return out
}

/// A service that refuses every request the way AWS's JSON services and OpenSearch refuse a bad
/// signature: 403 `SignatureDoesNotMatch` whose message quotes the canonical request it expected,
/// with the request's own `x-amz-security-token` header in it, and the string to sign. HEAD
/// requests succeed.
func echoingSignatureRefusal() throws -> LoopbackHTTPServer {
    try LoopbackHTTPServer { request in
        // An index exists (HEAD carries no body), so the next request is the one refused with a message.
        if request.method == "HEAD" { return ScriptedResponse.text("", status: 200) }
        let token = request.header("X-Amz-Security-Token") ?? ""
        let date = request.header("X-Amz-Date") ?? ""
        let message = """
            The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key \
            and signing method. Consult the service documentation for details.

            The Canonical String for this request should have been
            '\(request.method)
            \(request.path)

            host:\(request.header("Host") ?? "")
            x-amz-date:\(date)
            x-amz-security-token:\(token)

            host;x-amz-date;x-amz-security-token
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

            The String-to-Sign should have been
            'AWS4-HMAC-SHA256
            \(date)
            \(date.prefix(8))/us-east-1/es/aws4_request
            9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'
            """
        let body = JSON.object(["__type": "com.amazon.coral.service#SignatureDoesNotMatch", "message": .string(message)]).text
        return ScriptedResponse.text(body, status: 403, headers: [RecordedHeader("Content-Type", "application/x-amz-json-1.1")])
    }
}

extension NoSecretLeaksTests {
    @Test("a 403 that quotes the canonical request with the session token (as AWS services do) reaches no log, error or status item")
    func quotedCanonicalRequest() async throws {
        var stack = try await SecurityStack(buckets: 2)
        let echo = try echoingSignatureRefusal()
        defer { echo.stop() }
        let (dropbox, ingest) = (stack.buckets[0], stack.buckets[1])
        stack.environment["DROPBOX_BUCKET_NAME"] = dropbox
        stack.environment["INGEST_BUCKET_NAME"] = ingest
        stack.environment["DATASETS_PARAMETER"] = try await stack.putParameter("datasets", securityCatalog)

        // SSM refuses the catalog at init (dropbox-lambda).
        var refusingSSM = stack.environment
        refusingSSM["AWS_ENDPOINT_URL_SSM"] = echo.baseURL
        let initRun = try await runBootstrap("dropbox-lambda", environment: refusingSSM, payloads: [sqsEvent([.raw("{}")])])
        #expect(initRun.initErrors.count == 1)

        // OpenSearch refuses every request (ingest-lambda): the status item records why.
        var refusingDomain = stack.environment
        refusingDomain["OPEN_SEARCH_ENDPOINT"] = echo.baseURL
        let key = "in/events/echo.jsonl"
        let etag = try await stack.put(ingest, key, Array("{\"event_id\":1}\n".utf8))
        refusingDomain["INGEST_BUCKET_NAME"] = ingest
        let ingestRun = try await runBootstrap("ingest-lambda", environment: refusingDomain, payloads: [sqsEvent([.created(bucket: ingest, key: key, etag: etag)])])
        #expect(ingestRun.responses.first.map(failedIds) == ["m-0"], "\(ingestRun.stderr)")
        #expect(echo.requests.contains { $0.header("X-Amz-Security-Token") == stack.session.sessionToken })

        let dump = try await stack.dump()
        #expect(dump.contains("SignatureDoesNotMatch"), "the refusal is recorded in the status item")
        expectNoLeaks([initRun, ingestRun].flatMap(\.texts) + [("moto dump", dump)], secrets: stack.secrets)
    }
}
