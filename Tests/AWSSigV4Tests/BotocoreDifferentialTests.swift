import AWSSigV4
import Foundation
import Primitives
import Testing
import TestSupport

/// Signs ≥ 1,000 random requests (half S3, half other services) with our signer and with
/// botocore (`scripts/botocore_sigv4_sign.py`) and requires identical signatures. Needs `python3`
/// with `botocore`; without them the test fails (it does not skip).
@Suite("Differential signing against botocore")
struct BotocoreDifferentialTests {
    static let requestCount = 1_200

    @Test("Random requests get the same signature as botocore gives them")
    func matchesBotocore() async throws {
        var random = SplitMix64(seed: 0x5167_5634_2024)
        let cases = (0..<Self.requestCount).map { RandomCase(index: $0, random: &random) }
        let answers = try await runBotocore(cases.map(\.json))
        try #require(answers.count == cases.count, "botocore answered \(answers.count) of \(cases.count) requests")
        var mismatches = 0
        for (item, answer) in zip(cases, answers) {
            let ours = try item.sign()
            guard ours.signature != answer.signature || ours.canonicalRequest != answer.canonicalRequest else { continue }
            mismatches += 1
            if mismatches <= 5 {
                Issue.record(
                    """
                    Signature differs for \(item.method) \(item.url) (s3: \(item.s3))
                    ours:
                    \(ours.canonicalRequest)
                    botocore:
                    \(answer.canonicalRequest)
                    """
                )
            }
        }
        #expect(mismatches == 0, "\(mismatches) of \(cases.count) signatures differ from botocore")
        #expect(cases.filter(\.s3).count == Self.requestCount / 2)
    }

    struct Answer {
        var signature: String
        var canonicalRequest: String
    }

    private func runBotocore(_ requests: [[String: Any]]) async throws -> [Answer] {
        let script = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/botocore_sigv4_sign.py")
        let payload = try JSONSerialization.data(withJSONObject: requests)
        let run = try await runProcess(["python3", script.path], stdin: Array(payload))
        guard run.status == 0 else {
            let message = """
                python3 \(script.path) failed with status \(run.status). \
                This test needs python3 with botocore (pip install botocore).
                \(run.stderrText)
                """
            Issue.record(Comment(rawValue: message))
            throw FixtureError(message)
        }
        let decoded = try JSONSerialization.jsonObject(with: Data(run.stdout)) as? [[String: String]] ?? []
        return decoded.map { Answer(signature: $0["signature"] ?? "", canonicalRequest: $0["canonical_request"] ?? "") }
    }
}

/// One random request and how to sign it.
struct RandomCase {
    var s3: Bool
    var service: String
    var region: String
    var method: String
    var url: String
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    var unsigned: Bool
    var contentSHA256: Bool
    var credentials: AWSCredentials
    var date: Timestamp

    init(index: Int, random: inout SplitMix64) {
        s3 = index % 2 == 0
        service = s3 ? "s3" : ["sqs", "es", "dynamodb", "ssm"].randomElement(using: &random)!
        region = ["us-east-1", "eu-west-2", "ap-southeast-1"].randomElement(using: &random)!
        method = ["GET", "PUT", "POST", "DELETE", "HEAD"].randomElement(using: &random)!
        let scheme = Int.random(in: 0..<5, using: &random) == 0 ? "http" : "https"
        let hosts =
            s3
            ? ["examplebucket.s3.amazonaws.com", "s3.us-east-1.amazonaws.com", "localhost:4566", "127.0.0.1:9000",
                "S3.AMAZONAWS.COM:443", "bucket.example.com:80"]
            : ["sqs.us-east-1.amazonaws.com", "search-logs.eu-west-2.es.amazonaws.com", "localhost:4566",
                "Example.COM:8443", "[::1]:4566", "dynamodb.ap-southeast-1.amazonaws.com:443"]
        let host = hosts.randomElement(using: &random)!
        url = "\(scheme)://\(host)\(Self.path(s3: s3, random: &random))\(Self.query(random: &random))"

        headers = []
        for _ in 0..<Int.random(in: 0...6, using: &random) {
            let name = Self.headerNames.randomElement(using: &random)!
            headers.append((Self.randomCase(name, random: &random), Self.headerValue(random: &random)))
        }
        if Int.random(in: 0..<10, using: &random) == 0 {
            headers.insert(("Host", host.lowercased()), at: 0)
        }
        body = (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        unsigned = Int.random(in: 0..<6, using: &random) == 0
        contentSHA256 = !s3 && Int.random(in: 0..<4, using: &random) == 0
        credentials = AWSCredentials(
            accessKeyId: "AKID" + String((0..<16).map { _ in Self.keyCharacters.randomElement(using: &random)! }),
            secretAccessKey: String((0..<40).map { _ in Self.secretCharacters.randomElement(using: &random)! }),
            sessionToken: Int.random(in: 0..<3, using: &random) == 0
                ? String((0..<80).map { _ in Self.secretCharacters.randomElement(using: &random)! }) : nil
        )
        date = Timestamp(secondsSinceEpoch: Int64.random(in: 946_684_800..<2_208_988_800, using: &random))
    }

    func sign() throws -> SigningResult {
        let signer = s3 ? SigV4Signer.s3(region: region) : SigV4Signer(service: service, region: region)
        var request = SignableRequest(method: method, url: url, headers: headers)
        return try signer.sign(
            &request,
            credentials: credentials,
            payload: unsigned ? .unsigned : .hashing(body),
            date: date,
            addContentSHA256Header: !s3 && (unsigned || contentSHA256)
        )
    }

    var json: [String: Any] {
        [
            "method": method, "url": url, "headers": headers.map { [$0.name, $0.value] },
            "body_hex": Hex.encode(body), "service": service, "region": region, "s3": s3, "unsigned": unsigned,
            "content_sha256": contentSHA256, "access_key": credentials.accessKeyId,
            "secret_key": credentials.secretAccessKey, "token": credentials.sessionToken ?? NSNull(),
            "amz_date": date.amzDate,
        ]
    }

    // MARK: Generators

    static let headerNames = [
        "X-Custom", "x-amz-meta-author", "Content-Type", "X-Amz-Target", "User-Agent", "Expect", "Connection",
        "X-Amzn-Trace-Id", "Authorization", "x-amz-meta-list", "Cache-Control", "Content-Language", "Accept",
    ]
    static let keyCharacters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    static let secretCharacters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
    /// Unreserved, reserved and non-ASCII characters for keys, segments and query parts.
    static let textPieces = [
        "a", "b", "Z", "0", "9", "-", "_", ".", "~", " ", "+", "=", "&", "?", "#", "%", "/", "@", ":", "$", ",", "'",
        "!", "*", "(", ")", ";", "[", "]", "é", "ü", "日本", "😀", "\u{00A0}x",
    ]

    static func text(random: inout SplitMix64, maxPieces: Int = 8) -> String {
        (0..<Int.random(in: 1...maxPieces, using: &random)).map { _ in textPieces.randomElement(using: &random)! }
            .joined()
    }

    static func path(s3: Bool, random: inout SplitMix64) -> String {
        if s3 {
            // An object key, encoded once the way botocore's serializer does (`/` and `~` kept).
            var key = (0..<Int.random(in: 0...4, using: &random)).map { _ in
                switch Int.random(in: 0..<8, using: &random) {
                case 0: "."
                case 1: ".."
                case 2: ""
                default: text(random: &random)
                }
            }.joined(separator: "/")
            if Bool.random(using: &random) { key = "bucket/" + key }
            return "/" + PercentEncoding.encode(key, allowing: .unreservedAndSlash)
        }
        var path = (0..<Int.random(in: 0...5, using: &random)).map { _ in
            switch Int.random(in: 0..<7, using: &random) {
            case 0: "."
            case 1: ".."
            case 2: ""
            default: PercentEncoding.encode(text(random: &random), allowing: .unreserved)
            }
        }.joined(separator: "/")
        if Int.random(in: 0..<4, using: &random) == 0 { path += "/" }
        return "/" + path
    }

    /// A query already in canonical form (botocore signs the URL's query as it stands).
    static func query(random: inout SplitMix64) -> String {
        let count = Int.random(in: 0...4, using: &random)
        guard count > 0 else { return "" }
        var pairs: [String] = []
        for _ in 0..<count {
            let key =
                pairs.isEmpty || Bool.random(using: &random)
                ? PercentEncoding.encode(text(random: &random, maxPieces: 4)) : String(pairs.last!.prefix { $0 != "=" })
            switch Int.random(in: 0..<4, using: &random) {
            case 0: pairs.append(key)
            case 1: pairs.append(key + "=")
            default: pairs.append(key + "=" + PercentEncoding.encode(text(random: &random)))
            }
        }
        return "?" + pairs.joined(separator: "&")
    }

    static func headerValue(random: inout SplitMix64) -> String {
        let words = (0..<Int.random(in: 1...4, using: &random)).map { _ in
            String((0..<Int.random(in: 1...8, using: &random)).map { _ in
                Character(Unicode.Scalar(UInt8.random(in: 0x21...0x7e, using: &random)))
            })
        }
        var value = ""
        for word in words {
            value += String(repeating: Bool.random(using: &random) ? " " : "\t", count: Int.random(in: 0...3, using: &random))
            value += word
        }
        return value + String(repeating: " ", count: Int.random(in: 0...2, using: &random))
    }

    static func randomCase(_ name: String, random: inout SplitMix64) -> String {
        String(name.map { Bool.random(using: &random) ? Character($0.uppercased()) : Character($0.lowercased()) })
    }
}

/// A small seeded generator, so every run signs the same requests.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
