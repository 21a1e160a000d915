import AWSSigV4
import Primitives

/// `bench sigv4`: SigV4 header signing, ours against botocore, one thread each.
///
/// Cases (kept in step with `Benchmarks/python/sigv4_botocore.py`):
/// - `sqs-post`: an SQS SendMessage POST with a 199-byte JSON body; the body is hashed each time.
/// - `s3-get`: an S3 GetObject (empty body, `x-amz-content-sha256` signed).
/// Both use temporary credentials (a session token), as Lambda does.
enum SigV4Bench {
    static let command = BenchCommand(
        name: "sigv4", summary: "sign an SQS POST and an S3 GET: AWSSigV4 vs botocore", run: run
    )

    static let credentials = AWSCredentials(
        accessKeyId: "AKIAIOSFODNN7EXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        sessionToken: String(repeating: "IQoJb3JpZ2luX2VjEXAMPLETOKEN", count: 8)
    )
    static let sqsBody = Array(
        #"{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/123456789012/ingest-events","MessageBody":"{\"bucket\":\"dropbox-ingest\",\"key\":\"incoming/2024/05/24/quarterly-sales-report.csv\",\"size\":18734}"}"#
            .utf8
    )
    static let cases = ["sqs-post", "s3-get"]

    static func run(_ options: BenchOptions) throws {
        let clock = SystemClock()
        let sqs = SigV4Signer(service: "sqs", region: "us-east-1")
        let s3 = SigV4Signer.s3(region: "us-east-1")
        let sqsRequest = SignableRequest(
            method: "POST",
            url: "https://sqs.us-east-1.amazonaws.com/",
            headers: [("Content-Type", "application/x-amz-json-1.0"), ("X-Amz-Target", "AmazonSQS.SendMessage")]
        )
        let s3Request = SignableRequest(
            method: "GET",
            url: "https://dropbox-ingest.s3.us-east-1.amazonaws.com/incoming/2024/05/24/report%20final.csv"
        )
        var sink = 0
        var ours: [String: Double] = [:]
        ours["sqs-post"] = try measureRate(seconds: options.seconds) {
            var request = sqsRequest
            try sqs.sign(&request, credentials: credentials, payload: .hashing(sqsBody), date: clock.now())
            sink &+= request.headers.count
        }
        ours["s3-get"] = try measureRate(seconds: options.seconds) {
            var request = s3Request
            try s3.sign(&request, credentials: credentials, payload: .emptyBody, date: clock.now())
            sink &+= request.headers.count
        }
        precondition(sink > 0)

        var peer: [String: Double]? = nil
        if !options.swiftOnly {
            peer = try PythonPeer.run(
                script: "sigv4_botocore.py", in: options.scriptsDirectory, arguments: ["--seconds", "\(options.seconds)"]
            )
        }
        printComparison(
            title: "SigV4 header signing, one thread, \(options.seconds) s per case",
            cases: cases, ours: ours, peer: peer, peerName: "botocore"
        )
    }
}
