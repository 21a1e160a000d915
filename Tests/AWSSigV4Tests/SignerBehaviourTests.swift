import AWSSigV4
import Primitives
import Testing

@Suite("SigV4 signer behaviour")
struct SignerBehaviourTests {
    static let exampleCredentials = AWSCredentials(
        accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    )
    static let date = Timestamp(iso8601: "2013-05-24T00:00:00Z")!
    /// The key `photos/my file+a=b/ünï (1)&x@y$.txt`, encoded once as botocore's serializer does.
    static let s3KeyPath = "/examplebucket/photos/my%20file%2Ba%3Db/%C3%BCn%C3%AF%20%281%29%26x%40y%24.txt"

    // MARK: S3

    /// Expected values from botocore 1.43 `S3SigV4Auth` with the same inputs.
    @Test("S3 signs an encoded key exactly as sent: not encoded again, not normalised")
    func s3KeyNotDoubleEncoded() throws {
        var request = SignableRequest(
            method: "PUT", url: "https://s3.amazonaws.com" + Self.s3KeyPath, headers: [("Content-Type", "text/plain")]
        )
        let result = try SigV4Signer.s3(region: "us-east-1").sign(
            &request, credentials: Self.exampleCredentials, payload: .hashing(Array("Welcome to Amazon S3.".utf8)),
            date: Self.date
        )
        #expect(result.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)[1] == Self.s3KeyPath[...])
        #expect(result.signedHeaders == "content-type;host;x-amz-content-sha256;x-amz-date")
        #expect(result.signature == "0f595134ce36f57fc002247a78c939b3a8e102dc012461a0e7422b9c826f5f20")
        #expect(
            request.headerValues(named: "x-amz-content-sha256")
                == ["44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"]
        )

        var dotted = SignableRequest(method: "GET", url: "https://examplebucket.s3.amazonaws.com/a/./b//c/../d%2Be")
        let dottedResult = try SigV4Signer.s3(region: "us-east-1").sign(
            &dotted, credentials: Self.exampleCredentials, payload: .emptyBody, date: Self.date
        )
        #expect(dottedResult.canonicalRequest.hasPrefix("GET\n/a/./b//c/../d%2Be\n\n"))
        #expect(dottedResult.signature == "e8efea7521b014fd48770eb19649129b095247284b4b24990ea088267d54629d")
    }

    @Test("Other services normalise the path and encode it again") func nonS3PathRules() throws {
        var request = SignableRequest(method: "GET", url: "https://es.example.com/a/./b//c/../d%2Be")
        let result = try SigV4Signer(service: "es", region: "us-east-1").sign(
            &request, credentials: Self.exampleCredentials, payload: .emptyBody, date: Self.date
        )
        #expect(result.canonicalRequest.hasPrefix("GET\n/a/b/d%252Be\n\n"))
    }

    // MARK: Session token, headers, retries

    /// Expected signature from botocore 1.43 `S3SigV4Auth` with the same inputs.
    @Test("A session token is sent and signed in X-Amz-Security-Token") func sessionToken() throws {
        var credentials = Self.exampleCredentials
        credentials.sessionToken = "AQoDYXdzEJr//token+with=chars"
        var request = SignableRequest(
            method: "PUT", url: "https://s3.amazonaws.com" + Self.s3KeyPath, headers: [("Content-Type", "text/plain")]
        )
        let result = try SigV4Signer.s3(region: "us-east-1").sign(
            &request, credentials: credentials, payload: .hashing(Array("Welcome to Amazon S3.".utf8)), date: Self.date
        )
        #expect(result.signedHeaders == "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token")
        #expect(result.signature == "0b4b43982eee5f8226dc68f975b426113f26bf8db3834babc421aff57edffef7")
        #expect(request.headerValues(named: "X-Amz-Security-Token") == ["AQoDYXdzEJr//token+with=chars"])
    }

    @Test("Signing again replaces the earlier signing headers instead of adding more") func resigning() throws {
        var credentials = Self.exampleCredentials
        credentials.sessionToken = "token"
        let signer = SigV4Signer(service: "sqs", region: "eu-west-1")
        var request = SignableRequest(method: "POST", url: "https://sqs.eu-west-1.amazonaws.com/", headers: [("X-Amz-Target", "AmazonSQS.SendMessage")])
        let first = try signer.sign(&request, credentials: credentials, payload: .emptyBody, date: Self.date, addContentSHA256Header: true)
        let second = try signer.sign(
            &request, credentials: credentials, payload: .emptyBody, date: Self.date.adding(seconds: 60), addContentSHA256Header: true
        )
        #expect(first.signature != second.signature)
        for name in ["Authorization", "X-Amz-Date", "X-Amz-Security-Token", "x-amz-content-sha256"] {
            #expect(request.headerValues(named: name).count == 1, "\(name)")
        }
        #expect(request.headerValues(named: "X-Amz-Date") == ["20130524T000100Z"])
        #expect(request.headers.map(\.name) == ["X-Amz-Target", "X-Amz-Security-Token", "X-Amz-Date", "x-amz-content-sha256", "Authorization"])
    }

    @Test("Never-signed headers stay out of the signature") func unsignedHeaders() throws {
        var request = SignableRequest(
            method: "GET", url: "https://sqs.us-east-1.amazonaws.com/",
            headers: [
                ("User-Agent", "x"), ("Expect", "100-continue"), ("Connection", "keep-alive"),
                ("Transfer-Encoding", "chunked"), ("X-Amzn-Trace-Id", "Root=1"), ("Authorization", "stale"),
                ("X-Custom", "  a   b\t c  "),
            ]
        )
        let result = try SigV4Signer(service: "sqs", region: "us-east-1").sign(
            &request, credentials: Self.exampleCredentials, payload: .emptyBody, date: Self.date
        )
        #expect(result.signedHeaders == "host;x-amz-date;x-custom")
        #expect(result.canonicalRequest.contains("\nx-custom:a b c\n"))
    }

    // MARK: Host

    @Test("The host header comes from the URL, with the port only when it is not the default", arguments: [
        ("https://Example.COM/", "example.com"),
        ("https://example.com:443/", "example.com"),
        ("http://example.com:80/x", "example.com"),
        ("https://example.com:80/", "example.com:80"),
        ("http://localhost:4566/", "localhost:4566"),
        ("https://user:pw@example.com:8443/", "example.com:8443"),
        ("http://[::1]:9000/", "[::1]:9000"),
        ("https://example.com?x=1", "example.com"),
    ])
    func hostFromURL(url: String, host: String) throws {
        var request = SignableRequest(method: "GET", url: url)
        let result = try SigV4Signer(service: "sqs", region: "us-east-1").sign(
            &request, credentials: Self.exampleCredentials, payload: .emptyBody, date: Self.date
        )
        #expect(result.canonicalRequest.contains("\nhost:\(host)\n"))
        #expect(request.headerValues(named: "Host").isEmpty, "the signer does not add a Host header")
    }

    // MARK: Errors

    @Test("A URL without scheme://host is rejected with invalidURL", arguments: [
        "", "/just/a/path", "example.com/x", "https:///path", "https://host:port/", "https://host:99999/", "https://[::1/",
    ])
    func invalidURL(url: String) {
        var request = SignableRequest(method: "GET", url: url)
        #expect {
            try SigV4Signer(service: "sqs", region: "us-east-1").sign(
                &request, credentials: Self.exampleCredentials, payload: .emptyBody, date: Self.date
            )
        } throws: { error in
            (error as? SigV4Error)?.code == .invalidURL
        }
    }

    @Test("A presigned URL's lifetime must be 1 second to 7 days") func invalidExpiry() {
        let request = SignableRequest(method: "GET", url: "https://examplebucket.s3.amazonaws.com/test.txt")
        for expires in [0, -1, 604_801] {
            #expect(throws: SigV4Error(.invalidExpiry, "a presigned URL must expire in 1 to 604800 seconds")) {
                try SigV4Signer.s3(region: "us-east-1").presign(
                    request, credentials: Self.exampleCredentials, expires: expires, date: Self.date
                )
            }
        }
    }

    // MARK: Presigning

    /// The presigned GET example of the S3 API reference ("Authenticating Requests: Using Query
    /// Parameters"): `examplebucket/test.txt`, 86,400 seconds.
    @Test("An S3 presigned URL matches the AWS documentation example") func s3Presign() throws {
        let request = SignableRequest(method: "GET", url: "https://examplebucket.s3.amazonaws.com/test.txt")
        let (url, result) = try SigV4Signer.s3(region: "us-east-1").presignedURL(
            request, credentials: Self.exampleCredentials, expires: 86_400, date: Self.date
        )
        #expect(result.canonicalRequest.hasSuffix("\nhost\nUNSIGNED-PAYLOAD"))
        #expect(result.signature == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
        #expect(
            url
                == "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-SignedHeaders=host&X-Amz-Expires=86400&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        )
    }

    // MARK: Key cache

    @Test("The signing key is derived once per secret, day, region and service") func keyCache() throws {
        let cache = SigningKeyCache(capacity: 4)
        let signer = SigV4Signer(service: "sqs", region: "us-east-1", keyCache: cache)
        func sign(_ credentials: AWSCredentials, _ date: Timestamp, with signer: SigV4Signer) throws -> String {
            var request = SignableRequest(method: "GET", url: "https://sqs.us-east-1.amazonaws.com/")
            return try signer.sign(&request, credentials: credentials, payload: .emptyBody, date: date).signature
        }
        let first = try sign(Self.exampleCredentials, Self.date, with: signer)
        _ = try sign(Self.exampleCredentials, Self.date.adding(seconds: 3_600), with: signer)
        #expect(cache.derivations == 1, "same day: the cached key is used")
        _ = try sign(Self.exampleCredentials, Self.date.adding(seconds: 86_400), with: signer)
        #expect(cache.derivations == 2, "next day: a new key")
        var rotated = Self.exampleCredentials
        rotated.secretAccessKey = "another-secret"
        _ = try sign(rotated, Self.date, with: signer)
        #expect(cache.derivations == 3, "another secret: a new key")
        let sharing = SigV4Signer(service: "sqs", region: "eu-west-1", keyCache: cache)
        _ = try sign(Self.exampleCredentials, Self.date, with: sharing)
        #expect(cache.derivations == 4, "another region: a new key")
        #expect(cache.count == 4)
        _ = try sign(Self.exampleCredentials, Self.date, with: SigV4Signer(service: "es", region: "us-east-1", keyCache: cache))
        #expect(cache.count == 4, "the oldest entry makes room")
        // A cached key signs exactly as a freshly derived one.
        #expect(try sign(Self.exampleCredentials, Self.date, with: SigV4Signer(service: "sqs", region: "us-east-1")) == first)
    }

    // MARK: Secrets stay secret

    @Test("No description, mirror, error or result shows the secret or the token") func noSecretsInDescriptions() throws {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        let token = "SESSIONTOKEN-DO-NOT-PRINT"
        let credentials = AWSCredentials(accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: secret, sessionToken: token)
        let signer = SigV4Signer.s3(region: "us-east-1")
        var request = SignableRequest(method: "PUT", url: "https://s3.amazonaws.com/bucket/key")
        let result = try signer.sign(&request, credentials: credentials, payload: .streaming, date: Self.date)
        let chunkSigner = signer.chunkSigner(seed: result, credentials: credentials)
        var invalid = SignableRequest(method: "GET", url: "nope")
        var thrown: (any Error)?
        do { try signer.sign(&invalid, credentials: credentials, payload: .emptyBody, date: Self.date) } catch { thrown = error }

        let values: [Any] = [credentials, signer, signer.keyCache, result, chunkSigner, thrown as Any]
        for value in values {
            var dumped = ""
            dump(value, to: &dumped)
            for text in [String(describing: value), String(reflecting: value), dumped] {
                #expect(!text.contains(secret), "secret in \(type(of: value))")
                #expect(!text.contains("wJalrXUtnFEMI"), "part of the secret in \(type(of: value))")
            }
        }
        for value in [String(describing: credentials), String(describing: signer), String(describing: thrown as Any)] {
            #expect(!value.contains(token))
        }
    }
}
