import Foundation
import Testing

/// The detector the leak suite relies on: it must catch every planted form of a secret and stay
/// quiet on redacted text, or the suite proves nothing.
@Suite("Secret leak detector")
struct LeakDetectorTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    static let token = "FQoGZXIvYXdzEBYaDEZ3XcsDsFFBENKMn/g3SBY1mTNgL0ihr0U5jDYdQr+dg9tE5A3is4gHS/M9mIy5AbCdEf=="
    let detector = LeakDetector(secrets: ["secret key": secret, "session token": token, "password": "hunter2-basic"])

    @Test("a planted secret is caught whole, as a 16-character run, percent-encoded and JSON-escaped")
    func plantedSecretsAreCaught() {
        let planted = [
            "message: bad key \(Self.secret) used",
            "truncated: …\(Self.token.dropFirst(40).prefix(16))…",
            "url: https://h/?token=\(Self.token.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)",
            #"{"secret":"wJalrXUtnFEMI\/K7MDENG\/bPxRfiCYEXAMPLEKEY"}"#,
            "endpoint http://admin:hunter2-basic@127.0.0.1:9200",
        ]
        for text in planted {
            #expect(!detector.leaks(in: text, source: "test").isEmpty, "\(text)")
        }
    }

    @Test("signed-request material is caught: the Authorization header, Signature= hex, presigned parameters, the token header")
    func signaturesAreCaught() {
        let planted = [
            "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=abc",
            "…SignedHeaders=host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
            "GET https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=deadbeef",
            "https://b.s3.amazonaws.com/k?x-amz-security-token=IQoJb3JpZ2luX2VjEJr",
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIDEXAMPLE%2F20240501",
            #"{"X-Amz-Security-Token": "IQoJb3JpZ2luX2VjEJrAAAAAAAAAAAAAAAAAAA"}"#,
            "authorization: Basic YWRtaW46aHVudGVyMg==",
        ]
        for text in planted {
            #expect(!detector.leaks(in: text, source: "test").isEmpty, "\(text)")
        }
    }

    @Test("redacted text, short runs and unrelated base64 pass")
    func cleanTextPasses() {
        let clean = [
            "GET https://b.s3.amazonaws.com/k?X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED&X-Amz-Credential=REDACTED",
            "AWSCredentials(accessKeyId: ASIAEXAMPLE, secretAccessKey: <redacted>, sessionToken: <redacted>)",
            "a 15-character run of the key: \(Self.secret.prefix(15)) and of the token: \(Self.token.dropFirst(3).prefix(15))",
            "SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided.",
            #"{"level":"ERROR","message":"file failed","X-Amz-Security-Token":"[REDACTED]"}"#,
        ]
        for text in clean {
            #expect(detector.leaks(in: text, source: "test").isEmpty, "\(text)")
        }
    }

    @Test("a leak names its source and the secret, never the secret's value")
    func leakReportHoldsNoSecret() throws {
        let leak = try #require(detector.leaks(in: "x \(Self.secret) y", source: "dropbox stderr").first)
        #expect(leak.source == "dropbox stderr")
        #expect(leak.what.hasPrefix("secret key"))
        #expect(!leak.description.contains(Self.secret.prefix(LeakDetector.minimumRun)))
    }
}
